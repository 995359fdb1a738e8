package dev.confaas.image;

/** Lowercase hexadecimal, the only form ACON digests use. */
final class Hex {
  private static final char[] DIGITS = "0123456789abcdef".toCharArray();

  private Hex() {}

  static String encode(byte[] b) {
    char[] out = new char[b.length * 2];
    for (int i = 0; i < b.length; i++) {
      out[2 * i] = DIGITS[(b[i] >> 4) & 0xF];
      out[2 * i + 1] = DIGITS[b[i] & 0xF];
    }
    return new String(out);
  }

  /**
   * Decodes lowercase hex of exactly {@code expectedChars} characters.
   *
   * @throws IllegalArgumentException naming the length or the offending character
   */
  static byte[] decode(String s, int expectedChars, String what) {
    if (s.length() != expectedChars) {
      throw new IllegalArgumentException(
          what + " must be " + expectedChars + " hex digits, got " + s.length());
    }
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        throw new IllegalArgumentException(
            what
                + " has '"
                + c
                + "' at position "
                + i
                + " (only lowercase hex digits are allowed)");
      }
      out[i / 2] |= (byte) (i % 2 == 0 ? d << 4 : d);
    }
    return out;
  }
}
