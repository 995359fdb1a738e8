package dev.confaas.image;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;

/**
 * Who signed an image: {@code HASH/hex(HASH(certificate DER))}, where HASH is deduced from the
 * certificate (see {@link HashAlgorithm#forCertificate}).
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#hash">ACON: Signer ID</a>
 */
public final class SignerId {
  private final HashAlgorithm algorithm;
  private final byte[] value;

  private SignerId(HashAlgorithm algorithm, byte[] value) {
    this.algorithm = algorithm;
    this.value = value;
  }

  /**
   * The signer ID of a DER certificate.
   *
   * @throws IllegalArgumentException if the bytes are not a DER X.509 certificate or its hash is
   *     weaker than SHA-256 or cannot be deduced
   */
  public static SignerId of(byte[] certificateDer) {
    return of(decodeCertificate(certificateDer), certificateDer);
  }

  static SignerId of(X509Certificate cert, byte[] certificateDer) {
    HashAlgorithm alg = HashAlgorithm.forCertificate(cert);
    return new SignerId(alg, alg.hash(certificateDer));
  }

  /** Decodes a DER certificate, refusing PEM and trailing bytes (the signer ID hashes the DER). */
  static X509Certificate decodeCertificate(byte[] der) {
    if (der.length == 0 || der[0] != 0x30) {
      throw new IllegalArgumentException(
          "certificate is not DER (expected an ASN.1 SEQUENCE; if it is PEM, convert it with"
              + " 'openssl x509 -outform der')");
    }
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      X509Certificate cert =
          (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
      if (!Arrays.equals(cert.getEncoded(), der)) {
        throw new IllegalArgumentException(
            "certificate DER has trailing or non-canonical bytes; the signer ID must hash exactly"
                + " the certificate");
      }
      return cert;
    } catch (CertificateException | RuntimeException e) {
      if (e instanceof IllegalArgumentException) {
        throw (IllegalArgumentException) e;
      }
      throw new IllegalArgumentException("certificate is malformed DER: " + e.getMessage(), e);
    }
  }

  /**
   * Parses {@code HASH/hex}.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static SignerId parse(String s) {
    int slash = s.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException(
          "\"" + s + "\" is not a signer ID: expected HASH/HEX such as sha384/<96 hex digits>");
    }
    HashAlgorithm alg = HashAlgorithm.fromAconName(s.substring(0, slash));
    return new SignerId(alg, Hex.decode(s.substring(slash + 1), alg.hexLength(), "signer ID"));
  }

  public HashAlgorithm algorithm() {
    return algorithm;
  }

  /** The certificate hash in lowercase hex. */
  public String hex() {
    return Hex.encode(value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SignerId
        && ((SignerId) o).algorithm == algorithm
        && Arrays.equals(((SignerId) o).value, value);
  }

  @Override
  public int hashCode() {
    return algorithm.hashCode() * 31 + Arrays.hashCode(value);
  }

  /** {@code HASH/hex}. */
  @Override
  public String toString() {
    return algorithm.aconName() + "/" + hex();
  }
}
