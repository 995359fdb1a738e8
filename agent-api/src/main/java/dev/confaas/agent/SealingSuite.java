package dev.confaas.agent;

import org.bouncycastle.crypto.hpke.HPKE;

/**
 * The one HPKE suite (RFC 9180) ConFaaS seals with: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-128-GCM, base mode — the suite RFC 9458's examples use, so an OHTTP client library can be
 * pointed at a TD as is. Each agent's sealing key pair is of this KEM; its public key is the 32-byte
 * X25519 key, as Report returns it and REPORTDATA binds it ({@link ReportDataBinding}).
 */
public final class SealingSuite {
  public static final short KEM_ID = 0x0020;
  public static final short KDF_ID = 0x0001;
  public static final short AEAD_ID = 0x0001;
  /** Length of a serialized public key (and of the encapsulated key), bytes. */
  public static final int PUBLIC_KEY_BYTES = 32;

  private SealingSuite() {}

  /** A Bouncy Castle HPKE instance for this suite in base mode. */
  public static HPKE hpke() {
    return new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM128);
  }
}
