package dev.confaas.attestation;

import java.io.ByteArrayOutputStream;

/** Little-endian writer used to emit quotes and reports in Intel's exact layout. */
final class LeWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(5120);

  LeWriter bytes(byte[] b, int expectedLength, String field) {
    if (expectedLength >= 0 && b.length != expectedLength) {
      throw new IllegalArgumentException(
          field + " must be " + expectedLength + " bytes, was " + b.length);
    }
    out.writeBytes(b);
    return this;
  }

  LeWriter u16(int v) {
    out.write(v);
    out.write(v >>> 8);
    return this;
  }

  LeWriter u32(long v) {
    out.write((int) v);
    out.write((int) (v >>> 8));
    out.write((int) (v >>> 16));
    out.write((int) (v >>> 24));
    return this;
  }

  int size() {
    return out.size();
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }
}
