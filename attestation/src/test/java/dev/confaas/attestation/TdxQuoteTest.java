package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TdxQuoteTest {

  @ParameterizedTest
  @ValueSource(strings = {"go-tdx-guest-v4", "go-tdx-guest-v5", "lunal-v4", "lunal-v5"})
  void realQuotesReserializeByteIdenticallyOverTheirDeclaredLength(String set) {
    byte[] raw = TestVectors.quote(set);
    TdxQuote q = TdxQuote.parse(raw);
    byte[] written = q.toBytes();
    assertTrue(written.length <= raw.length, "declared length exceeds the file");
    assertArrayEquals(
        Arrays.copyOf(raw, written.length), written, set + ": re-serialized quote differs");
    // Bytes after the declared end (go-tdx-guest appends a text trailer) are not part of the quote.
    TdxQuote again = TdxQuote.parse(written);
    assertArrayEquals(written, again.toBytes(), "parse(write(q)) must round-trip");
  }

  @Test
  void v4QuoteFieldsSitAtTheirDocumentedOffsets() {
    byte[] raw = TestVectors.quote("go-tdx-guest-v4");
    TdxQuote q = TdxQuote.parse(raw);
    assertEquals(4, q.version());
    assertEquals(0x81, q.header().teeType());
    assertEquals(632, q.signedLength(), "v4 signs header (48) + body (584)");
    TdReport r = q.report();
    assertEquals(TdReport.BODY_TYPE_TDX10, r.bodyType());
    assertArrayEquals(Arrays.copyOfRange(raw, 48, 64), r.teeTcbSvn());
    assertArrayEquals(Arrays.copyOfRange(raw, 48 + 136, 48 + 184), r.mrTd(), "MRTD at body+136");
    assertArrayEquals(Arrays.copyOfRange(raw, 48 + 520, 632), r.reportData(), "REPORTDATA last");
    assertArrayEquals(Arrays.copyOfRange(raw, 48 + 472, 48 + 520), r.rtmr(3));
    assertNull(r.mrServiceTd());
    assertEquals("03000400000000000000000000000000", HexFormat.of().formatHex(r.teeTcbSvn()));
    assertEquals(32, q.signatureData().qeAuthData().length);
  }

  @Test
  void v5Type3BodyCarriesTeeTcbSvn2AndMrServiceTd() {
    TdxQuote q = TdxQuote.parse(TestVectors.quote("go-tdx-guest-v5"));
    assertEquals(5, q.version());
    assertEquals(TdReport.BODY_TYPE_TDX15, q.report().bodyType());
    assertEquals(48 + 6 + 648, q.signedLength());
    assertEquals(16, q.report().teeTcbSvn2().length);
    assertEquals(48, q.report().mrServiceTd().length);
  }

  @Test
  void everyTruncationIsRejectedNamingOffsetAndField() {
    byte[] raw = TdxQuote.parse(TestVectors.quote("lunal-v5")).toBytes();
    for (int len = 0; len < raw.length; len++) {
      byte[] cut = Arrays.copyOf(raw, len);
      QuoteFormatException e =
          assertThrows(QuoteFormatException.class, () -> TdxQuote.parse(cut), "length " + len);
      assertTrue(e.getMessage().contains("offset " + e.offset()), e.getMessage());
      assertTrue(e.offset() <= len, "offset " + e.offset() + " beyond truncation " + len);
    }
  }

  @Test
  void inconsistentLengthsAreRejected() {
    byte[] raw = TestVectors.quote("go-tdx-guest-v4");
    byte[] badBody = raw.clone();
    badBody[0] = 3;
    assertEquals(
        "header.version",
        assertThrows(QuoteFormatException.class, () -> TdxQuote.parse(badBody)).field());
    byte[] v5 = TestVectors.quote("lunal-v5");
    byte[] badSize = v5.clone();
    badSize[50] = (byte) 0x49; // 584+1
    QuoteFormatException e =
        assertThrows(QuoteFormatException.class, () -> TdxQuote.parse(badSize));
    assertEquals("body_descriptor.size", e.field());
    assertEquals(50, e.offset());
    byte[] badCert = raw.clone();
    int authSizeAt = 632 + 4 + 128 + 6 + 384 + 64;
    badCert[authSizeAt] = 33; // one more auth byte than the certification data holds
    e = assertThrows(QuoteFormatException.class, () -> TdxQuote.parse(badCert));
    assertTrue(e.field().startsWith("signature."), e.getMessage());
  }

  @Test
  void v5QuotesWithATdx10BodyRoundTrip() {
    TdxQuote v4 = TdxQuote.parse(TestVectors.quote("lunal-v4"));
    QuoteHeader h = v4.header();
    QuoteHeader v5Header =
        new QuoteHeader(
            5, h.attestationKeyType(), h.teeType(), h.reserved(), h.qeVendorId(), h.userData());
    TdxQuote v5 = new TdxQuote(v5Header, v4.report(), v4.signatureData());
    byte[] bytes = v5.toBytes();
    assertEquals(2, bytes[48], "body type 2 follows the header");
    assertEquals(584, (bytes[50] & 0xff) | (bytes[51] & 0xff) << 8, "body size");
    TdxQuote parsed = TdxQuote.parse(bytes);
    assertEquals(TdReport.BODY_TYPE_TDX10, parsed.report().bodyType());
    assertEquals(48 + 6 + 584, parsed.signedLength());
    assertArrayEquals(bytes, parsed.toBytes());
  }

  @Test
  void unsupportedBodyTypeIsNamed() {
    byte[] v5 = TestVectors.quote("lunal-v5");
    v5[48] = 4;
    QuoteFormatException e = assertThrows(QuoteFormatException.class, () -> TdxQuote.parse(v5));
    assertEquals("body_descriptor.type", e.field());
    assertTrue(e.getMessage().contains("only 2 (TDX 1.0) and 3 (TDX 1.5)"), e.getMessage());
  }
}
