package dev.confaas.attestation.measure;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

final class Digests {
  private Digests() {}

  static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-384", e);
    }
  }

  static byte[] sha384(byte[] data) {
    return sha384().digest(data);
  }
}
