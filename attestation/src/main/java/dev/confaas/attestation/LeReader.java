package dev.confaas.attestation;

import java.util.Arrays;

/** Bounds-checked little-endian reader over a quote; every failure names the field and offset. */
final class LeReader {
  private final byte[] data;
  private final int limit;
  private int pos;

  LeReader(byte[] data, int start, int limit) {
    this.data = data;
    this.pos = start;
    this.limit = limit;
  }

  int position() {
    return pos;
  }

  private void need(int n, String field) {
    if (n < 0 || pos + n > limit || pos + n < pos) {
      throw new QuoteFormatException(
          pos, field, "needs " + n + " bytes but only " + Math.max(0, limit - pos) + " remain");
    }
  }

  byte[] bytes(int n, String field) {
    need(n, field);
    byte[] out = Arrays.copyOfRange(data, pos, pos + n);
    pos += n;
    return out;
  }

  int u16(String field) {
    need(2, field);
    int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8;
    pos += 2;
    return v;
  }

  long u32(String field) {
    need(4, field);
    long v =
        (data[pos] & 0xffL)
            | (data[pos + 1] & 0xffL) << 8
            | (data[pos + 2] & 0xffL) << 16
            | (data[pos + 3] & 0xffL) << 24;
    pos += 4;
    return v;
  }
}
