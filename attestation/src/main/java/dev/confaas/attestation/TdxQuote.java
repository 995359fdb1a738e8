package dev.confaas.attestation;

import java.util.Arrays;

/**
 * An Intel TDX quote, version 4 or 5, parsed by its declared lengths (bytes after the declared end,
 * such as the zero padding some quote providers add, are ignored). {@link #toBytes()} writes the
 * exact layout back, so a parsed quote re-serializes byte for byte and the simulator emits
 * real-format quotes.
 *
 * <p>Layout: Intel TDX DCAP Quote Generation Library and Quote Verification Library ("Quote
 * Format", v4 and v5); summarized in testdata/tdx/README.md.
 */
public final class TdxQuote {
  private final QuoteHeader header;
  private final TdReport report;
  private final QuoteSignatureData signatureData;
  private final byte[] encoded;
  private final int signedLength;

  public TdxQuote(QuoteHeader header, TdReport report, QuoteSignatureData signatureData) {
    if (header.version() == 4 && report.bodyType() != TdReport.BODY_TYPE_TDX10) {
      throw new IllegalArgumentException("a v4 quote carries a TDX 1.0 (type 2) body");
    }
    if (header.version() != 4 && header.version() != 5) {
      throw new IllegalArgumentException("only quote versions 4 and 5 are supported");
    }
    this.header = header;
    this.report = report;
    this.signatureData = signatureData;
    LeWriter w = new LeWriter();
    header.write(w);
    if (header.version() == 5) {
      w.u16(report.bodyType()).u32(report.size());
    }
    report.write(w);
    this.signedLength = w.size();
    signatureData.write(w);
    this.encoded = w.toByteArray();
  }

  /** Parses a v4 or v5 TDX quote; throws {@link QuoteFormatException} naming offset and field. */
  public static TdxQuote parse(byte[] quote) {
    LeReader r = new LeReader(quote, 0, quote.length);
    QuoteHeader header = QuoteHeader.read(r);
    if (header.version() != 4 && header.version() != 5) {
      throw new QuoteFormatException(
          0,
          "header.version",
          "is " + header.version() + ", only TDX quotes v4 and v5 are supported");
    }
    if (header.teeType() != QuoteHeader.TEE_TYPE_TDX) {
      throw new QuoteFormatException(
          4, "header.tee_type", "is 0x" + Long.toHexString(header.teeType()) + ", not TDX (0x81)");
    }
    if (header.attestationKeyType() != QuoteHeader.ATT_KEY_TYPE_ECDSA_P256) {
      throw new QuoteFormatException(
          2,
          "header.att_key_type",
          "is " + header.attestationKeyType() + ", only 2 (ECDSA P-256) is supported");
    }
    int bodyType = TdReport.BODY_TYPE_TDX10;
    if (header.version() == 5) {
      int typeAt = r.position();
      bodyType = r.u16("body_descriptor.type");
      int expected;
      if (bodyType == TdReport.BODY_TYPE_TDX10) {
        expected = TdReport.SIZE_TDX10;
      } else if (bodyType == TdReport.BODY_TYPE_TDX15) {
        expected = TdReport.SIZE_TDX15;
      } else {
        throw new QuoteFormatException(
            typeAt,
            "body_descriptor.type",
            "is " + bodyType + "; only 2 (TDX 1.0) and 3 (TDX 1.5) TD report bodies are supported");
      }
      int sizeAt = r.position();
      long size = r.u32("body_descriptor.size");
      if (size != expected) {
        throw new QuoteFormatException(
            sizeAt,
            "body_descriptor.size",
            "is " + size + " but a type " + bodyType + " body is " + expected + " bytes");
      }
    }
    TdReport report = TdReport.read(r, bodyType);
    int lenAt = r.position();
    long sigLen = r.u32("signature_data_len");
    if (sigLen > quote.length - r.position()) {
      throw new QuoteFormatException(
          lenAt,
          "signature_data_len",
          "declares " + sigLen + " bytes but only " + (quote.length - r.position()) + " follow");
    }
    int end = r.position() + (int) sigLen;
    LeReader sr = new LeReader(quote, r.position(), end);
    QuoteSignatureData sig = QuoteSignatureData.read(sr, end);
    return new TdxQuote(header, report, sig);
  }

  public QuoteHeader header() {
    return header;
  }

  public int version() {
    return header.version();
  }

  public TdReport report() {
    return report;
  }

  public QuoteSignatureData signatureData() {
    return signatureData;
  }

  /** The quote in Intel's layout, exactly its declared length. */
  public byte[] toBytes() {
    return encoded.clone();
  }

  /** The encoding without a defensive copy, for the verifier; never modified. */
  byte[] encoded() {
    return encoded;
  }

  /**
   * Length of the region the attestation key signs: header and body (descriptor included in v5).
   */
  public int signedLength() {
    return signedLength;
  }

  /** The bytes the quote signature covers. */
  public byte[] signedRegion() {
    return Arrays.copyOf(encoded, signedLength);
  }
}
