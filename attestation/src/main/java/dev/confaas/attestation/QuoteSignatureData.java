package dev.confaas.attestation;

/**
 * The signature section of a v4/v5 quote: the ECDSA P-256 quote signature (r||s) by the attestation
 * key (x||y), then certification data of type 6 holding the QE report, its signature by the PCK
 * key, the QE authentication data and, nested as certification data type 5, the PEM PCK certificate
 * chain (leaf, intermediate CA, root), kept byte for byte as the quote carries it.
 */
public record QuoteSignatureData(
    byte[] quoteSignature,
    byte[] attestationKey,
    int certificationDataType,
    QeReport qeReport,
    byte[] qeReportSignature,
    byte[] qeAuthData,
    int pckCertDataType,
    byte[] pckCertChain) {

  /** Certification data type: QE report certification data (wraps the PCK chain). */
  public static final int CERT_DATA_QE_REPORT = 6;

  /** Certification data type: concatenated PCK certificate chain, PEM. */
  public static final int CERT_DATA_PCK_CHAIN = 5;

  static QuoteSignatureData read(LeReader r, int end) {
    byte[] sig = r.bytes(64, "signature.quote_signature");
    byte[] key = r.bytes(64, "signature.attestation_key");
    int typeAt = r.position();
    int certType = r.u16("signature.certification_data_type");
    if (certType != CERT_DATA_QE_REPORT) {
      throw new QuoteFormatException(
          typeAt,
          "signature.certification_data_type",
          "is " + certType + ", a TDX quote must carry type 6 (QE report certification data)");
    }
    int sizeAt = r.position();
    long outerSize = r.u32("signature.certification_data_size");
    if (outerSize != end - r.position()) {
      throw new QuoteFormatException(
          sizeAt,
          "signature.certification_data_size",
          "declares " + outerSize + " bytes but the signature data leaves " + (end - r.position()));
    }
    QeReport qeReport = new QeReport(r.bytes(QeReport.SIZE, "signature.qe_report"));
    byte[] qeSig = r.bytes(64, "signature.qe_report_signature");
    int authSize = r.u16("signature.qe_auth_data_size");
    byte[] auth = r.bytes(authSize, "signature.qe_auth_data");
    int innerTypeAt = r.position();
    int innerType = r.u16("signature.pck_cert_data_type");
    if (innerType != CERT_DATA_PCK_CHAIN) {
      throw new QuoteFormatException(
          innerTypeAt,
          "signature.pck_cert_data_type",
          "is " + innerType + ", expected 5 (PCK certificate chain)");
    }
    int innerSizeAt = r.position();
    long innerSize = r.u32("signature.pck_cert_data_size");
    if (innerSize != end - r.position()) {
      throw new QuoteFormatException(
          innerSizeAt,
          "signature.pck_cert_data_size",
          "declares "
              + innerSize
              + " bytes but the certification data leaves "
              + (end - r.position()));
    }
    byte[] chain = r.bytes((int) innerSize, "signature.pck_cert_chain");
    return new QuoteSignatureData(sig, key, certType, qeReport, qeSig, auth, innerType, chain);
  }

  void write(LeWriter w) {
    LeWriter s = new LeWriter();
    s.bytes(quoteSignature, 64, "quote_signature");
    s.bytes(attestationKey, 64, "attestation_key");
    int inner = QeReport.SIZE + 64 + 2 + qeAuthData.length + 2 + 4 + pckCertChain.length;
    s.u16(certificationDataType).u32(inner);
    s.bytes(qeReport.raw(), QeReport.SIZE, "qe_report");
    s.bytes(qeReportSignature, 64, "qe_report_signature");
    if (qeAuthData.length > 0xffff) {
      throw new IllegalArgumentException("QE auth data is limited to 65535 bytes");
    }
    s.u16(qeAuthData.length).bytes(qeAuthData, -1, "qe_auth_data");
    s.u16(pckCertDataType).u32(pckCertChain.length).bytes(pckCertChain, -1, "pck_cert_chain");
    byte[] body = s.toByteArray();
    w.u32(body.length).bytes(body, -1, "signature_data");
  }
}
