package dev.confaas.image;

import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The canonical form of a JSON document as ACON defines it: byte for byte what {@code jq -jcS .}
 * (jq 1.6) prints.
 *
 * <p>That means: object keys sorted by their UTF-8 bytes (jq compares keys with {@code memcmp},
 * which is Unicode code point order, not Java's UTF-16 order); no whitespace; strings escaped as jq
 * 1.6 does (backslash before {@code "} and backslash, short escapes for backspace, tab, newline,
 * form feed and carriage return, other code points below U+0020 and U+007F as a lowercase
 * six-character escape ({@code \}{@code u001f}); {@code /}, {@code <>&} and all non-ASCII written
 * as raw UTF-8; ill-formed UTF-8 and lone low surrogate escapes replaced by U+FFFD); every number
 * converted to a double and printed with the shortest digits that read back as the same double
 * ({@code jvp_dtoa_fmt}): {@code 1.0 → 1}, {@code 1e1000 → 1.7976931348623157e+308}, {@code 1e-7 →
 * 1e-07}, {@code -0 → -0}; a repeated key keeps its last value. With {@code -j} a top-level string
 * is printed raw, without quotes.
 *
 * <p>Input must be strict RFC 8259 JSON holding exactly one value; where jq is more lenient (see
 * {@link Json}) the input is rejected with {@link IllegalArgumentException} naming the byte offset.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#signing">ACON: Signing</a>
 */
public final class CanonicalJson {
  private CanonicalJson() {}

  /**
   * Returns what {@code jq -jcS .} prints for {@code json}.
   *
   * @throws IllegalArgumentException if {@code json} is not one strict RFC 8259 JSON value
   */
  public static byte[] canonicalize(byte[] json) {
    return write(JqJsonReader.parse(json, false));
  }

  /** Canonical bytes of a parsed tree (see {@link Json} for the value types). */
  static byte[] write(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (value instanceof String) {
      out.writeBytes(((String) value).getBytes(StandardCharsets.UTF_8)); // -j: raw top-level string
    } else {
      write(value, out);
    }
    return out.toByteArray();
  }

  private static void write(Object v, ByteArrayOutputStream out) {
    if (v instanceof Map) {
      Map<?, ?> map = (Map<?, ?>) v;
      List<byte[]> keys = new ArrayList<>(map.size());
      List<Object> names = new ArrayList<>(map.size());
      for (Object k : map.keySet()) {
        names.add(k);
        keys.add(((String) k).getBytes(StandardCharsets.UTF_8));
      }
      Integer[] order = new Integer[keys.size()];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(keys.get(a), keys.get(b)));
      out.write('{');
      boolean first = true;
      for (int i : order) {
        if (!first) {
          out.write(',');
        }
        first = false;
        writeString((String) names.get(i), out);
        out.write(':');
        write(map.get(names.get(i)), out);
      }
      out.write('}');
    } else if (v instanceof List) {
      out.write('[');
      boolean first = true;
      for (Object e : (List<?>) v) {
        if (!first) {
          out.write(',');
        }
        first = false;
        write(e, out);
      }
      out.write(']');
    } else if (v instanceof String) {
      writeString((String) v, out);
    } else if (v instanceof Number) {
      out.writeBytes(formatNumber(((Number) v).doubleValue()).getBytes(StandardCharsets.US_ASCII));
    } else if (v instanceof Boolean) {
      out.writeBytes(v.toString().getBytes(StandardCharsets.US_ASCII));
    } else if (v == JqJsonReader.NULL || v == null) {
      out.writeBytes("null".getBytes(StandardCharsets.US_ASCII));
    } else {
      throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
    }
  }

  /** jq 1.6 {@code jvp_dump_string} without {@code -a}. */
  static void writeString(String s, ByteArrayOutputStream out) {
    out.write('"');
    StringBuilder plain = new StringBuilder();
    for (int i = 0; i < s.length(); ) {
      int c = s.codePointAt(i);
      i += Character.charCount(c);
      if (c >= 0x20 && c <= 0x7E) {
        if (c == '"' || c == '\\') {
          plain.append('\\');
        }
        plain.append((char) c);
      } else if (c < 0x20 || c == 0x7F) {
        switch (c) {
          case '\b':
            plain.append("\\b");
            break;
          case '\t':
            plain.append("\\t");
            break;
          case '\r':
            plain.append("\\r");
            break;
          case '\n':
            plain.append("\\n");
            break;
          case '\f':
            plain.append("\\f");
            break;
          default:
            plain.append(String.format("\\u%04x", c));
        }
      } else if (c >= 0xD800 && c <= 0xDFFF) {
        plain.append('\uFFFD'); // an unpaired surrogate from a Java caller: jq would never hold one
      } else {
        plain.appendCodePoint(c);
      }
    }
    out.writeBytes(plain.toString().getBytes(StandardCharsets.UTF_8));
    out.write('"');
  }

  /**
   * jq 1.6 number output: infinities become ±DBL_MAX, then {@code jvp_dtoa_fmt} (David Gay's {@code
   * g_fmt} with mode 0 — shortest round-trip digits) with jq's changes: a leading {@code 0} before
   * {@code .}, an explicit exponent sign, and at least two exponent digits.
   */
  static String formatNumber(double d) {
    if (Double.isNaN(d)) {
      return "null";
    }
    if (d == Double.POSITIVE_INFINITY) {
      d = Double.MAX_VALUE;
    } else if (d == Double.NEGATIVE_INFINITY) {
      d = -Double.MAX_VALUE;
    }
    StringBuilder b = new StringBuilder(32);
    if (d < 0 || (d == 0 && 1 / d < 0)) {
      b.append('-');
      d = -d;
    }
    if (d == 0) {
      return b.append('0').toString();
    }
    BigDecimal shortest = shortest(d);
    String digits = shortest.unscaledValue().toString();
    // Strip trailing zeros of the digit string (dtoa never returns them).
    int nd = digits.length();
    while (nd > 1 && digits.charAt(nd - 1) == '0') {
      nd--;
    }
    // decpt: position of the decimal point relative to the start of the digits.
    int decpt = digits.length() - shortest.scale();
    digits = digits.substring(0, nd);
    if (decpt <= -4 || decpt > nd + 15) {
      b.append(digits.charAt(0));
      if (nd > 1) {
        b.append('.').append(digits, 1, nd);
      }
      b.append('e');
      int exp = decpt - 1;
      if (exp < 0) {
        b.append('-');
        exp = -exp;
      } else {
        b.append('+');
      }
      if (exp < 10) {
        b.append('0');
      }
      b.append(exp);
    } else if (decpt <= 0) {
      b.append("0.");
      for (int i = decpt; i < 0; i++) {
        b.append('0');
      }
      b.append(digits);
    } else {
      for (int i = 0; i < nd; i++) {
        b.append(digits.charAt(i));
        if (i + 1 == decpt && i + 1 < nd) {
          b.append('.');
        }
      }
      for (int i = nd; i < decpt; i++) {
        b.append('0');
      }
    }
    return b.toString();
  }

  /**
   * The decimal with the fewest significant digits that reads back as {@code d} (positive, finite),
   * the nearest one to {@code d} when two qualify — what dtoa mode 0 returns.
   */
  private static BigDecimal shortest(double d) {
    BigDecimal exact = new BigDecimal(d);
    for (int p = 1; p <= 17; p++) {
      BigDecimal down = exact.round(new MathContext(p, RoundingMode.FLOOR));
      BigDecimal up = exact.round(new MathContext(p, RoundingMode.CEILING));
      boolean downOk = Double.parseDouble(down.toString()) == d;
      boolean upOk = Double.parseDouble(up.toString()) == d;
      if (downOk && upOk) {
        int cmp = exact.subtract(down).compareTo(up.subtract(exact));
        if (cmp < 0) {
          return down;
        } else if (cmp > 0) {
          return up;
        }
        return down.unscaledValue().testBit(0) ? up : down; // a tie: the even digit
      }
      if (downOk) {
        return down;
      }
      if (upOk) {
        return up;
      }
    }
    return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
  }
}
