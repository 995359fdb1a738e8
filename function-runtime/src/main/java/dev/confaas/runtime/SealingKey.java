package dev.confaas.runtime;

import dev.confaas.agent.SealingSuite;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;

/**
 * The TD's HPKE sealing key pair ({@link SealingSuite}), made at boot next to the identity key. The
 * public key goes into every Report and is bound by REPORTDATA; the private key stays in this
 * object, in the agent's memory, and is never written or sent anywhere. Sealed events are opened
 * with it here (and, later, secrets released to the TD).
 */
public final class SealingKey {
  private final AsymmetricCipherKeyPair pair;
  private final byte[] publicKey;

  private SealingKey(AsymmetricCipherKeyPair pair) {
    this.pair = pair;
    this.publicKey = SealingSuite.hpke().serializePublicKey(pair.getPublic());
  }

  /** A fresh key pair from the JDK's strong randomness (Bouncy Castle's default). */
  public static SealingKey generate() {
    return new SealingKey(SealingSuite.hpke().generatePrivateKey());
  }

  /** The public key as RFC 9180 serializes it (32 bytes, X25519). */
  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** The key pair, for opening HPKE contexts inside the agent only. */
  AsymmetricCipherKeyPair keyPair() {
    return pair;
  }
}
