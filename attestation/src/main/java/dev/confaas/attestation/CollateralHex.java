package dev.confaas.attestation;

import java.util.HexFormat;

/** Hex as Intel's collateral writes it (case-insensitive on input, lower case on output). */
final class CollateralHex {
  private static final HexFormat HEX = HexFormat.of();

  private CollateralHex() {}

  static String of(byte[] b) {
    return HEX.formatHex(b);
  }

  static byte[] parse(String s, String field) {
    try {
      return HEX.parseHex(s.toLowerCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not hex: " + e.getMessage(), e);
    }
  }
}
