package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class CanonicalJsonTest {

  static Stream<Path> fixtures() throws IOException, URISyntaxException {
    Path dir = Path.of(CanonicalJsonTest.class.getResource("/canonical/inputs").toURI());
    List<Path> all = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> p.toString().endsWith(".json")).sorted().forEach(all::add);
    }
    return all.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void matchesOutputRecordedFromJq(Path input) throws IOException {
    String name = input.getFileName().toString().replace(".json", ".out");
    Path expected = input.getParent().resolveSibling("expected").resolve(name);
    byte[] want = Files.readAllBytes(expected);
    byte[] got = CanonicalJson.canonicalize(Files.readAllBytes(input));
    assertEquals(
        new String(want, StandardCharsets.UTF_8),
        new String(got, StandardCharsets.UTF_8),
        "canonical form of " + input.getFileName() + " differs from jq -jcS");
    assertArrayEquals(want, got, "bytes of " + input.getFileName());
  }

  @Test
  void sortsKeysByCodePointNotUtf16() {
    // U+FFFF sorts before U+1F600 by code point (and UTF-8 bytes), after it in UTF-16 order.
    byte[] got = CanonicalJson.canonicalize(utf8("{\"\\ud83d\\ude00\":1,\"\\uffff\":2}"));
    assertEquals("{\"\uffff\":2,\"\ud83d\ude00\":1}", new String(got, StandardCharsets.UTF_8));
  }

  @Test
  void repeatedKeyKeepsTheLastValueLikeJq() {
    assertEquals(
        "{\"a\":3,\"b\":2}", str(CanonicalJson.canonicalize(utf8("{\"a\":1,\"b\":2,\"a\":3}"))));
  }

  @Test
  void numbersFollowJqDtoa() {
    assertEquals("1", CanonicalJson.formatNumber(1.0));
    assertEquals("1.7976931348623157e+308", CanonicalJson.formatNumber(Double.POSITIVE_INFINITY));
    assertEquals("1e+20", CanonicalJson.formatNumber(1e20));
    assertEquals("1e-07", CanonicalJson.formatNumber(1e-7));
    assertEquals("0.0001", CanonicalJson.formatNumber(1e-4));
    assertEquals("-0", CanonicalJson.formatNumber(-0.0));
    assertEquals("1000000000000000", CanonicalJson.formatNumber(1e15));
    assertEquals("1e+16", CanonicalJson.formatNumber(1e16));
    assertEquals("123456789012345680", CanonicalJson.formatNumber(123456789012345678d));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        " ",
        "{} {}",
        "[01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[NaN]",
        "[nan]",
        "[infinity]",
        "{\"a\":1,}",
        "[1,]",
        "{'a':1}",
        "[\"\\x\"]",
        "[\"\\ud800\"]",
        "[\"\\ud800x\"]",
        "[\"tab\there\"]",
        "[\"\u001f\"]",
        "\ufeff{}",
        "[1e]",
        "[-]",
        "{\"a\" 1}",
        "[tru]",
        "[\"abc",
        "# comment\n{}"
      })
  void rejectsWhatIsNotStrictJson(String input) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.canonicalize(utf8(input)));
    assertTrue(
        e.getMessage().contains("JSON") || e.getMessage().contains("input"),
        "message should say the JSON is invalid: " + e.getMessage());
  }

  @Test
  void nestingLimitIsJqs() throws Exception {
    String ok = "[".repeat(256) + "]".repeat(256);
    String tooDeep = "[".repeat(257) + "]".repeat(257);
    assertEquals(ok, str(CanonicalJson.canonicalize(utf8(ok))));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> CanonicalJson.canonicalize(utf8(tooDeep)));
    assertTrue(e.getMessage().contains("more than 256 nested"), e.getMessage());
    if (Tools.onPath("jq")) {
      assertEquals(
          ok, str(Tools.run(utf8(ok), List.of("jq", "-jcS", "."))), "jq accepts 256 levels");
      AssertionError jqRefuses =
          assertThrows(
              AssertionError.class, () -> Tools.run(utf8(tooDeep), List.of("jq", "-jcS", ".")));
      assertTrue(jqRefuses.getMessage().contains("depth limit"), jqRefuses.getMessage());
    }
  }

  @Test
  void errorNamesTheByteOffset() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> CanonicalJson.canonicalize(utf8("{\"a\":[1,2,}")));
    assertTrue(e.getMessage().contains("byte 10"), e.getMessage());
  }

  /**
   * Many generated tricky inputs through the real jq 1.6 in one run, each on its own line ({@code
   * jq -cS .} prints one canonical value per line); every line must equal ours.
   */
  @Test
  void agreesWithLiveJqOnGeneratedInputs() throws Exception {
    Assumptions.assumeTrue(Tools.onPath("jq"), "jq is not on PATH (CI installs it)");
    String version =
        new String(Tools.run(List.of("jq", "--version")), StandardCharsets.UTF_8).trim();
    Assumptions.assumeTrue(
        version.equals("jq-1.6"), "ACON's canonical form is jq 1.6's; found " + version);
    Random rnd = new Random(20261122);
    List<byte[]> cases = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      cases.add(utf8("[" + numberLiteral(rnd) + "]"));
    }
    for (int i = 0; i < 1500; i++) {
      cases.add(stringCase(rnd));
    }
    for (int i = 0; i < 300; i++) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.write('[');
      value(rnd, b, 0);
      b.write(']');
      cases.add(b.toByteArray());
    }
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] c : cases) {
      all.writeBytes(c);
      all.write('\n');
    }
    byte[] out = Tools.run(all.toByteArray(), List.of("jq", "-cS", "."));
    List<byte[]> lines = splitLines(out);
    assertEquals(cases.size(), lines.size(), "jq printed a different number of values");
    for (int i = 0; i < cases.size(); i++) {
      byte[] ours = CanonicalJson.canonicalize(cases.get(i));
      if (!java.util.Arrays.equals(lines.get(i), ours)) {
        assertEquals(
            str(lines.get(i)),
            str(ours),
            "case " + i + " input " + new String(cases.get(i), StandardCharsets.ISO_8859_1));
        assertArrayEquals(lines.get(i), ours, "case " + i);
      }
    }
  }

  private static String numberLiteral(Random rnd) {
    switch (rnd.nextInt(6)) {
      case 0:
        return CanonicalJson.formatNumber(Double.longBitsToDouble(rnd.nextLong()))
            .replace("null", "0");
      case 1:
        {
          double d = Double.longBitsToDouble(rnd.nextLong());
          return Double.isFinite(d) ? Double.toString(d).replace("E", "e") : "1e999";
        }
      case 2:
        return Long.toString(rnd.nextLong() >> rnd.nextInt(64));
      case 3:
        {
          StringBuilder s = new StringBuilder();
          if (rnd.nextBoolean()) {
            s.append('-');
          }
          s.append(1 + rnd.nextInt(9));
          int n = rnd.nextInt(25);
          for (int k = 0; k < n; k++) {
            s.append(rnd.nextInt(10));
          }
          if (rnd.nextBoolean()) {
            s.append('.').append(rnd.nextInt(1000000));
          }
          if (rnd.nextBoolean()) {
            s.append(rnd.nextBoolean() ? 'e' : 'E').append(rnd.nextInt(700) - 350);
          }
          return s.toString();
        }
      case 4:
        return "0." + "0".repeat(rnd.nextInt(8)) + (1 + rnd.nextInt(999));
      default:
        return (rnd.nextInt(2000000) - 1000000) + "e" + (rnd.nextInt(50) - 25);
    }
  }

  private static byte[] stringCase(Random rnd) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(utf8("{"));
    stringLiteral(rnd, b);
    b.write(':');
    stringLiteral(rnd, b);
    b.write(',');
    stringLiteral(rnd, b);
    b.writeBytes(utf8(":0}"));
    return b.toByteArray();
  }

  private static final String[] ESCAPES = {
    "\\\"",
    "\\\\",
    "\\/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u0000",
    "\\u001f",
    "\\u007f",
    "\\u0080",
    "\\u00e9",
    "\\u2028",
    "\\ufffd",
    "\\uffff",
    "\\ud83d\\ude00",
    "\\udbff\\udfff",
    "\\udc00",
    "\\uDFFF",
    "\\u00A0",
    "<",
    ">",
    "&",
    "'",
    "\u00e9",
    "\u4e2d",
    "\ud83d\ude00"
  };

  private static void stringLiteral(Random rnd, ByteArrayOutputStream b) {
    b.write('"');
    int n = rnd.nextInt(8);
    for (int i = 0; i < n; i++) {
      switch (rnd.nextInt(4)) {
        case 0:
          b.writeBytes(utf8(ESCAPES[rnd.nextInt(ESCAPES.length)]));
          break;
        case 1:
          b.write(0x80 + rnd.nextInt(0x80)); // raw high bytes: valid or not as UTF-8
          break;
        case 2:
          {
            int c = 0x20 + rnd.nextInt(0x5f);
            if (c == '"' || c == '\\') {
              c = 'q';
            }
            b.write(c);
            break;
          }
        default:
          b.writeBytes(
              new String(Character.toChars(rnd.nextInt(0x10FFFF) & ~0x800))
                  .getBytes(StandardCharsets.UTF_8));
      }
    }
    b.write('"');
  }

  private static void value(Random rnd, ByteArrayOutputStream b, int depth) {
    int k = depth > 3 ? 2 + rnd.nextInt(3) : rnd.nextInt(5);
    switch (k) {
      case 0:
        {
          b.write('{');
          int n = rnd.nextInt(5);
          for (int i = 0; i < n; i++) {
            if (i > 0) {
              b.write(',');
            }
            stringLiteral(rnd, b);
            b.writeBytes(utf8(rnd.nextBoolean() ? ":" : " : "));
            value(rnd, b, depth + 1);
          }
          b.write('}');
          break;
        }
      case 1:
        {
          b.write('[');
          int n = rnd.nextInt(5);
          for (int i = 0; i < n; i++) {
            if (i > 0) {
              b.writeBytes(utf8(rnd.nextBoolean() ? "," : " ,\n"));
            }
            value(rnd, b, depth + 1);
          }
          b.write(']');
          break;
        }
      case 2:
        stringLiteral(rnd, b);
        break;
      case 3:
        b.writeBytes(utf8(numberLiteral(rnd)));
        break;
      default:
        b.writeBytes(utf8(new String[] {"true", "false", "null"}[rnd.nextInt(3)]));
    }
  }

  private static List<byte[]> splitLines(byte[] out) {
    List<byte[]> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < out.length; i++) {
      if (out[i] == '\n') {
        lines.add(java.util.Arrays.copyOfRange(out, start, i));
        start = i + 1;
      }
    }
    return lines;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
