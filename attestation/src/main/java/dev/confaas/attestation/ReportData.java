package dev.confaas.attestation;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The 64-byte REPORTDATA a TD puts into its quote to bind a key to it (ARCHITECTURE.md, "Pool
 * boot").
 *
 * <p>Construction, exactly: {@code REPORTDATA = SHA-384(publicKey || nonce) || 16 zero bytes},
 * where {@code publicKey} is the encoded identity key (use a self-delimiting encoding such as the
 * DER SubjectPublicKeyInfo, {@code PublicKey.getEncoded()}, so that key and nonce cannot be
 * re-split) and {@code nonce} is the verifier's fresh challenge, as raw bytes.
 *
 * <p>The ConFaaS agent no longer uses this v1 binding: its quotes bind the identity and sealing keys
 * with agent-api's {@code ReportDataBinding} (docs/receipts.md). This stays for binding one key in
 * tests and tools of this module.
 */
final class ReportData {
  public static final int SIZE = 64;

  private ReportData() {}

  public static byte[] bind(byte[] publicKey, byte[] nonce) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-384");
      md.update(publicKey);
      md.update(nonce);
      return Arrays.copyOf(md.digest(), SIZE);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-384", e);
    }
  }
}
