package dev.confaas.image;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Signing keys for images: a fresh ECDSA P-384 key with a self-signed {@code ecdsa-with-SHA384}
 * certificate (what ACON recommends; good for development — production certificates come from a
 * CA), and reading/writing keys as PEM. Reading accepts PKCS#8 ({@code BEGIN PRIVATE KEY}) and
 * OpenSSL's SEC1 ({@code BEGIN EC PRIVATE KEY}, as {@code openssl ecparam -genkey} writes, with or
 * without its {@code EC PARAMETERS} block), for EC and Ed25519 keys. Encrypted keys are refused.
 */
public final class SigningKeys {
  /** How long a generated certificate is valid. */
  public static final Duration VALIDITY = Duration.ofDays(3 * 365);

  private static final String EC_KEY = "1.2.840.10045.2.1";
  private static final String ED25519 = "1.3.101.112";

  private final PrivateKey privateKey;
  private final byte[] certificateDer;

  private SigningKeys(PrivateKey privateKey, byte[] certificateDer) {
    this.privateKey = privateKey;
    this.certificateDer = certificateDer;
  }

  /**
   * A new P-384 key and a self-signed SHA384withECDSA certificate for {@code commonName}, valid
   * from {@code clock}'s now for {@link #VALIDITY}.
   */
  public static SigningKeys generate(String commonName, Clock clock) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp384r1"), new SecureRandom());
      KeyPair kp = g.generateKeyPair();
      X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
      Instant now = clock.instant();
      byte[] serial = new byte[16];
      new SecureRandom().nextBytes(serial);
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              name,
              new BigInteger(1, serial),
              Date.from(now.minus(Duration.ofMinutes(5))),
              Date.from(now.plus(VALIDITY)),
              name,
              kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      X509CertificateHolder h =
          b.build(new JcaContentSignerBuilder("SHA384withECDSA").build(kp.getPrivate()));
      return new SigningKeys(kp.getPrivate(), h.getEncoded());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot generate a P-384 key with this JRE", e);
    }
  }

  /**
   * Pairs a key with its certificate.
   *
   * @throws IllegalArgumentException if the certificate is not DER
   */
  public static SigningKeys of(PrivateKey privateKey, byte[] certificateDer) {
    SignerId.decodeCertificate(certificateDer);
    return new SigningKeys(privateKey, certificateDer.clone());
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The certificate, DER (a copy). */
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  public X509Certificate certificate() {
    return SignerId.decodeCertificate(certificateDer);
  }

  public SignerId signerId() {
    return SignerId.of(certificateDer);
  }

  /** A signer for these keys. */
  public ImageSigner signer() {
    return new ImageSigner(privateKey, certificateDer);
  }

  /** This private key as PKCS#8 PEM. */
  public String privateKeyPem() {
    return privateKeyPem(privateKey);
  }

  /** A private key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). */
  public static String privateKeyPem(PrivateKey key) {
    StringWriter w = new StringWriter();
    w.write("-----BEGIN PRIVATE KEY-----\n");
    w.write(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded()));
    w.write("\n-----END PRIVATE KEY-----\n");
    return w.toString();
  }

  /**
   * Reads an unencrypted private key from PEM (PKCS#8 or SEC1).
   *
   * @throws IllegalArgumentException saying what was found instead
   */
  public static PrivateKey readPrivateKeyPem(byte[] pem) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    try (PEMParser p = new PEMParser(new StringReader(text))) {
      Object o;
      int objects = 0;
      while ((o = p.readObject()) != null) {
        objects++;
        PrivateKeyInfo info = null;
        if (o instanceof PEMKeyPair) {
          info = ((PEMKeyPair) o).getPrivateKeyInfo();
        } else if (o instanceof PrivateKeyInfo) {
          info = (PrivateKeyInfo) o;
        } else if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
          throw new IllegalArgumentException(
              "private key is encrypted; decrypt it first (openssl pkcs8 -in KEY -out PLAIN.pem)");
        }
        if (info != null) {
          return toPrivateKey(info);
        }
        // EC PARAMETERS blocks (openssl ecparam -genkey) and the like come before the key: skip.
      }
      throw new IllegalArgumentException(
          objects == 0
              ? "no PEM block found; expected '-----BEGIN PRIVATE KEY-----' or '-----BEGIN EC"
                  + " PRIVATE KEY-----'"
              : "no private key in the PEM (found " + objects + " other block(s))");
    } catch (IOException e) {
      throw new IllegalArgumentException("private key PEM is malformed: " + e.getMessage(), e);
    }
  }

  private static PrivateKey toPrivateKey(PrivateKeyInfo info) throws IOException {
    String oid = info.getPrivateKeyAlgorithm().getAlgorithm().getId();
    String alg;
    if (oid.equals(EC_KEY)) {
      alg = "EC";
    } else if (oid.equals(ED25519)) {
      alg = "Ed25519";
    } else {
      throw new IllegalArgumentException(
          "private key algorithm " + oid + " is not supported; use ECDSA P-384 (or Ed25519)");
    }
    try {
      return KeyFactory.getInstance(alg)
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("private key is malformed: " + e.getMessage(), e);
    }
  }

  /**
   * A certificate as DER, given DER or PEM ({@code BEGIN CERTIFICATE}) bytes; the signer ID is
   * always computed over DER.
   *
   * @throws IllegalArgumentException if neither
   */
  public static byte[] certificateDer(byte[] derOrPem) {
    if (derOrPem.length > 0 && derOrPem[0] == 0x30) {
      SignerId.decodeCertificate(derOrPem);
      return derOrPem.clone();
    }
    String text = new String(derOrPem, StandardCharsets.US_ASCII);
    try (PEMParser p = new PEMParser(new StringReader(text))) {
      Object o = p.readObject();
      if (o instanceof X509CertificateHolder) {
        byte[] der = ((X509CertificateHolder) o).getEncoded();
        SignerId.decodeCertificate(der);
        return der;
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("certificate PEM is malformed: " + e.getMessage(), e);
    }
    throw new IllegalArgumentException(
        "not a certificate: expected DER (starting with 0x30) or PEM '-----BEGIN"
            + " CERTIFICATE-----'");
  }
}
