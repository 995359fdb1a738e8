package dev.confaas.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Real-looking ACON IDs for tests: each digest is the actual hash of a label (as if it were a
 * certificate or a canonical manifest), so IDs have the right lengths and never collide by accident.
 */
final class Ids {
  private Ids() {}

  static String hex(String algorithm, String label) {
    String jca = switch (algorithm) {
      case "sha224" -> "SHA-224";
      case "sha256" -> "SHA-256";
      case "sha384" -> "SHA-384";
      case "sha512" -> "SHA-512";
      default -> throw new IllegalArgumentException(algorithm);
    };
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance(jca).digest(label.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** A sha384 signer ID digest for a vendor's certificate. */
  static String signer(String vendor) {
    return hex("sha384", "certificate of " + vendor);
  }

  /** A sha384 image for {@code vendor}'s manifest {@code label}. */
  static PolicyImage image(
      String vendor, String label, List<String> selfAliases, List<String> accepts, boolean reject) {
    return PolicyImage.of(
        "sha384/" + signer(vendor) + "/" + hex("sha384", "manifest " + label),
        selfAliases, accepts, reject);
  }

  static PolicyImage image(String vendor, String label, List<String> selfAliases) {
    return image(vendor, label, selfAliases, List.of(), false);
  }
}
