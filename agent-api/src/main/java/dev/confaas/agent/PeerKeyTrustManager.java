package dev.confaas.agent;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts exactly one TLS peer key: the peer's leaf certificate must carry the pinned X.509
 * SubjectPublicKeyInfo, byte for byte. Names, issuers and dates are deliberately not checked — the
 * key is the identity (the agent's was bound into its quote; the host's was handed to the agent at
 * launch), and a TLS handshake proves the peer holds its private key.
 *
 * <p>{@link #firstContact()} instead accepts any key and records it: for the host's single unpinned
 * Report, after which the key in the verified quote must equal the recorded one.
 */
public final class PeerKeyTrustManager extends X509ExtendedTrustManager {
  private final byte[] pinned; // null: first contact, accept and record
  private final String peer;
  private final AtomicReference<byte[]> seen = new AtomicReference<>();

  private PeerKeyTrustManager(byte[] pinned, String peer) {
    this.pinned = pinned == null ? null : pinned.clone();
    this.peer = peer;
  }

  /**
   * @param publicKeyDer the only peer key accepted, SubjectPublicKeyInfo DER
   * @param peer what the peer is, for error messages ("the attested agent", "the host")
   */
  public static PeerKeyTrustManager pinnedTo(byte[] publicKeyDer, String peer) {
    return new PeerKeyTrustManager(publicKeyDer, peer);
  }

  /** Accepts any peer key once and remembers it ({@link #seenKey()}). */
  public static PeerKeyTrustManager firstContact() {
    return new PeerKeyTrustManager(null, "any peer");
  }

  /** The key of the last peer that passed this trust manager. */
  public Optional<byte[]> seenKey() {
    return Optional.ofNullable(seen.get()).map(byte[]::clone);
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate; " + peer + " must");
    }
    byte[] key = chain[0].getPublicKey().getEncoded();
    if (pinned != null && !MessageDigest.isEqual(key, pinned)) {
      throw new CertificateException(
          "the peer's key (SHA-256 "
              + fingerprint(key)
              + ") is not the key of "
              + peer
              + " (SHA-256 "
              + fingerprint(pinned)
              + "); refusing the connection");
    }
    seen.set(key);
  }

  /** SHA-256 of a SubjectPublicKeyInfo, hex: short enough for a log line. */
  public static String fingerprint(byte[] publicKeyDer) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(publicKeyDer));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
