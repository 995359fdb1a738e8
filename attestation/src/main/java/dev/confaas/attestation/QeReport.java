package dev.confaas.attestation;

import java.util.Arrays;

/**
 * The Quoting Enclave's 384-byte SGX report body, kept as raw bytes (it is what the PCK key signs)
 * with accessors for the fields the verifier reads. Offsets: Intel SGX SDK {@code
 * sgx_report_body_t}.
 */
record QeReport(byte[] raw) {
  public static final int SIZE = 384;

  public QeReport {
    if (raw.length != SIZE) {
      throw new IllegalArgumentException("a QE report is 384 bytes, got " + raw.length);
    }
  }

  public byte[] cpuSvn() {
    return Arrays.copyOfRange(raw, 0, 16);
  }

  public long miscSelect() {
    return (raw[16] & 0xffL)
        | (raw[17] & 0xffL) << 8
        | (raw[18] & 0xffL) << 16
        | (raw[19] & 0xffL) << 24;
  }

  public byte[] attributes() {
    return Arrays.copyOfRange(raw, 48, 64);
  }

  public byte[] mrEnclave() {
    return Arrays.copyOfRange(raw, 64, 96);
  }

  public byte[] mrSigner() {
    return Arrays.copyOfRange(raw, 128, 160);
  }

  public int isvProdId() {
    return (raw[256] & 0xff) | (raw[257] & 0xff) << 8;
  }

  public int isvSvn() {
    return (raw[258] & 0xff) | (raw[259] & 0xff) << 8;
  }

  public byte[] reportData() {
    return Arrays.copyOfRange(raw, 320, 384);
  }
}
