package dev.confaas.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An EC P-384 key pair that never leaves this process, with a self-signed certificate so TLS can
 * carry it. The agent makes one at start (its identity key, bound into its quote's REPORTDATA, and
 * the key that signs its receipts, ES384); the host makes one per pool (its client key, handed to
 * each agent at launch). Trust never comes from the certificate (no CA, names or dates are
 * checked): each side pins the other's public key ({@link PeerKeyTrustManager}).
 *
 * <p>P-384 rather than P-256 because receipts are JWS ES384 (docs/receipts.md), in line with the
 * SHA-384 used for every other ConFaaS measurement and signature.
 */
public final class TlsIdentity {
  private static final char[] NO_PASSWORD = new char[0];

  private final KeyPair keyPair;
  private final X509Certificate certificate;

  private TlsIdentity(KeyPair keyPair, X509Certificate certificate) {
    this.keyPair = keyPair;
    this.certificate = certificate;
  }

  /** A fresh key pair and a self-signed certificate for it, valid from an hour before now. */
  public static TlsIdentity generate(String commonName, Clock clock) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp384r1"), new SecureRandom());
      KeyPair kp = g.generateKeyPair();
      Instant now = clock.instant();
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              new X500Name("CN=" + commonName),
              new BigInteger(64, new SecureRandom()).add(BigInteger.ONE),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(Duration.ofDays(3650))),
              new X500Name("CN=" + commonName),
              kp.getPublic());
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(
              new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")
              }));
      X509Certificate cert =
          new JcaX509CertificateConverter()
              .getCertificate(
                  b.build(new JcaContentSignerBuilder("SHA384withECDSA").build(kp.getPrivate())));
      return new TlsIdentity(kp, cert);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot generate a TLS identity: " + e.getMessage(), e);
    }
  }

  /** The public key as X.509 SubjectPublicKeyInfo DER (what REPORTDATA binds and peers pin). */
  public byte[] publicKeyDer() {
    return keyPair.getPublic().getEncoded();
  }

  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  /**
   * Signs {@code data} with ECDSA P-384 / SHA-384, the signature as the 96 bytes R ‖ S (JWS ES384,
   * RFC 7518 §3.4), so that the private key is used without being handed out.
   */
  public byte[] signEs384(byte[] data) {
    try {
      Signature s = Signature.getInstance("SHA384withECDSAinP1363Format");
      s.initSign(keyPair.getPrivate());
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the identity key: " + e.getMessage(), e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** Key managers presenting this certificate and key in a TLS handshake. */
  public KeyManager[] keyManagers() {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(
          "identity", keyPair.getPrivate(), NO_PASSWORD, new X509Certificate[] {certificate});
      KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      f.init(ks, NO_PASSWORD);
      return f.getKeyManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a key manager: " + e.getMessage(), e);
    }
  }

  /** Writes the certificate (not the key) as PEM. */
  public void writeCertificatePem(Path file) {
    try {
      String pem =
          "-----BEGIN CERTIFICATE-----\n"
              + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                  .encodeToString(certificate.getEncoded())
              + "\n-----END CERTIFICATE-----\n";
      Files.writeString(file, pem, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads one X.509 certificate, PEM or DER. */
  public static X509Certificate readCertificate(Path file) {
    try (var in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read certificate " + file, e);
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          file + " is not an X.509 certificate (PEM or DER): " + e.getMessage(), e);
    }
  }
}
