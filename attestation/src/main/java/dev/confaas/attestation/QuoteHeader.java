package dev.confaas.attestation;

/**
 * The 48-byte quote header (Intel TDX DCAP Quote Generation Library, "Quote Header"): version u16,
 * attestation key type u16 (2 = ECDSA-256 with P-256), TEE type u32 (0x81 = TDX), 4 reserved bytes
 * (QE SVN and PCE SVN in older layouts), QE vendor ID (16) and user data (20).
 */
record QuoteHeader(
    int version,
    int attestationKeyType,
    long teeType,
    byte[] reserved,
    byte[] qeVendorId,
    byte[] userData) {

  public static final int SIZE = 48;
  public static final int ATT_KEY_TYPE_ECDSA_P256 = 2;
  public static final long TEE_TYPE_TDX = 0x81;

  static QuoteHeader read(LeReader r) {
    return new QuoteHeader(
        r.u16("header.version"),
        r.u16("header.att_key_type"),
        r.u32("header.tee_type"),
        r.bytes(4, "header.reserved"),
        r.bytes(16, "header.qe_vendor_id"),
        r.bytes(20, "header.user_data"));
  }

  void write(LeWriter w) {
    w.u16(version).u16(attestationKeyType).u32(teeType);
    w.bytes(reserved, 4, "header.reserved");
    w.bytes(qeVendorId, 16, "header.qe_vendor_id");
    w.bytes(userData, 20, "header.user_data");
  }
}
