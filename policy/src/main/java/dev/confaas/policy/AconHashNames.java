package dev.confaas.policy;

import java.util.Map;

/**
 * The hash algorithm names ACON IDs use and the lengths of their lowercase hex digests. The policy
 * module does not depend on the image module, so it keeps this small table itself; it must agree with
 * the names {@code image} prints in IDs ({@code sha384/...}).
 */
final class AconHashNames {
  private static final Map<String, Integer> HEX_LENGTH =
      Map.of("sha224", 56, "sha256", 64, "sha384", 96, "sha512", 128);

  private AconHashNames() {}

  static boolean isKnownHash(String hash) {
    return HEX_LENGTH.containsKey(hash);
  }

  static String knownHashes() {
    return "sha224, sha256, sha384, sha512";
  }

  /**
   * Checks that {@code hex} is a digest under {@code hash}: exactly the algorithm's length, lowercase
   * hex. Returns {@code null} when it is, otherwise why not (for an error message).
   */
  static String digestProblem(String hash, String hex) {
    int want = HEX_LENGTH.get(hash);
    for (int i = 0; i < hex.length(); i++) {
      char c = hex.charAt(i);
      boolean lower = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (!lower) {
        if (c >= 'A' && c <= 'F') {
          return "has uppercase hex digit '" + c + "' at position " + i
              + "; ACON IDs are lowercase hex, write it in lowercase";
        }
        return "has '" + c + "' at position " + i + ", which is not a hex digit";
      }
    }
    if (hex.length() != want) {
      return "has " + hex.length() + " hex digits but a " + hash + " digest has " + want;
    }
    return null;
  }
}
