package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class RtmrLogTest {
  // Computed independently with Python's hashlib:
  //   r = 48 zero bytes; for line: r = sha384(r + sha384(line))
  static final String AFTER_INIT =
      "6c365f76661093e45396aa72e4b9da060ba558a71df61eda609c51ae4b47908d2d04abde885a1501689217d0a2419613";
  static final String AFTER_FINALIZE =
      "f2687f4dce2907091fcc3097725525ebe8d3b3b294578ecbe8a154777b1eb4e5444c68bd67c99d15b480613d99167afd";

  @Test
  void aconLogReplaysToTheIndependentlyComputedValue() {
    RtmrLog log = RtmrLog.empty().appendManifest("sha384/abc/def").appendFinalize();
    assertEquals(
        List.of(
            "INIT sha384/" + "0".repeat(96),
            "github.com/intel/ACON AddManifest sha384/abc/def",
            "github.com/intel/ACON Finalize"),
        log.lines(),
        "acond writes INIT before the first entry");
    assertEquals(AFTER_FINALIZE, log.valueHex());
    assertEquals(AFTER_INIT, HexFormat.of().formatHex(log.valueAfter(1)));
    assertEquals(log, RtmrLog.parse(log.toText()), "text round-trip");
    assertEquals(log, RtmrLog.parse(String.join("\0", log.lines())), "acond's NUL-separated form");
  }

  @Test
  void emptyLogIsFortyEightZeroBytes() {
    assertArrayEquals(new byte[48], RtmrLog.empty().value());
  }

  @Test
  void comparisonWithAQuoteNamesTheFirstLineTheQuoteLacks() {
    RtmrLog log = RtmrLog.empty().appendManifest("sha384/abc/def").appendFinalize();
    byte[] quoted = log.valueAfter(2); // the TD was quoted before Finalize
    RtmrLog.Comparison c = log.compareTo(quoted);
    assertFalse(c.matches());
    assertEquals(2, c.linesCovered());
    assertTrue(c.message().contains("line 2 ('github.com/intel/ACON Finalize')"), c.message());
    assertTrue(log.compareTo(log.value()).matches());
    byte[] unrelated = RtmrLog.empty().appendManifest("sha384/other/x").value();
    assertEquals(-1, log.compareTo(unrelated).linesCovered(), "no prefix matches");
  }

  @Test
  void firstDivergenceBetweenTwoLogsAndAgainstObservedValues() {
    RtmrLog a = RtmrLog.empty().appendManifest("sha384/A/1").appendManifest("sha384/B/2");
    RtmrLog b = RtmrLog.empty().appendManifest("sha384/A/1").appendManifest("sha384/C/3");
    assertEquals(OptionalInt.of(2), a.firstDivergence(b));
    assertEquals(OptionalInt.empty(), a.firstDivergence(a));
    assertEquals(
        OptionalInt.of(3), a.firstDivergence(a.append("x")), "a prefix diverges at its length");
    assertEquals(
        OptionalInt.of(2),
        a.firstDivergence(List.of(b.valueAfter(1), b.valueAfter(2), b.valueAfter(3))));
  }

  @Test
  void linesMustBeSingleAsciiLines() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> RtmrLog.empty().append("two\nlines"));
    assertTrue(e.getMessage().contains("column 3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> RtmrLog.empty().append("caf\u00e9"));
  }

  @Test
  void reportDataBindsKeyAndNonceWithSha384PaddedTo64() {
    byte[] rd = ReportData.bind("key".getBytes(), "nonce".getBytes());
    assertEquals(64, rd.length);
    assertEquals(
        "e6775482e6e4ceb01b86921d727c8060654561de58bb90471e03064a2bbcb4b9db9d0f6b5c2644c252b978891386e59d"
            + "0".repeat(32),
        HexFormat.of().formatHex(rd));
  }
}
