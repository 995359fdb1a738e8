package dev.confaas.agent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The REPORTDATA an agent puts into its quote, binding its two keys and the verifier's nonce; the
 * agent computes it to get a quote and every verifier (the pool at boot and re-attestation, a
 * receipt verifier, a caller sealing an event) computes it again to compare. docs/receipts.md
 * states it for other languages.
 *
 * <pre>
 * REPORTDATA[0..48)  = SHA-384( "confaas-reportdata-v2"          (21 ASCII bytes)
 *                             ‖ u32be(len(identity)) ‖ identity   (X.509 SubjectPublicKeyInfo DER, P-384)
 *                             ‖ u32be(len(sealing))  ‖ sealing    (HPKE public key, raw 32-byte X25519)
 *                             ‖ nonce )                          (16..64 bytes, last, so not prefixed)
 * REPORTDATA[48..64) = 16 zero bytes
 * </pre>
 *
 * The label keeps this from being confused with any other SHA-384 a TD might put there (the v1
 * binding was SHA-384(identity ‖ nonce)); the length prefixes keep the fields from being re-split.
 */
public final class ReportDataBinding {
  /** Domain-separation label, hashed first. */
  public static final String LABEL = "confaas-reportdata-v2";
  /** Size of REPORTDATA in a TDX report. */
  public static final int SIZE = 64;

  private ReportDataBinding() {}

  /**
   * @param identityPublicKey the identity key, SubjectPublicKeyInfo DER
   * @param sealingPublicKey the HPKE public key as RFC 9180 serializes it
   * @param nonce the verifier's challenge
   */
  public static byte[] of(byte[] identityPublicKey, byte[] sealingPublicKey, byte[] nonce) {
    if (identityPublicKey.length == 0 || sealingPublicKey.length == 0) {
      throw new IllegalArgumentException(
          "REPORTDATA binds an identity key and a sealing key; one of them is empty");
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-384");
      md.update(LABEL.getBytes(StandardCharsets.US_ASCII));
      md.update(ByteBuffer.allocate(4).putInt(identityPublicKey.length).array());
      md.update(identityPublicKey);
      md.update(ByteBuffer.allocate(4).putInt(sealingPublicKey.length).array());
      md.update(sealingPublicKey);
      md.update(nonce);
      return Arrays.copyOf(md.digest(), SIZE);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-384", e);
    }
  }
}
