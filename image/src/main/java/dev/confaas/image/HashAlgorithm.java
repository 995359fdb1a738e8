package dev.confaas.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.Locale;

/**
 * The hash algorithms ACON names in digests and IDs ({@code sha384/...}). Anything weaker than
 * SHA-256 is not representable here, so it cannot be accepted by accident.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#hash">ACON: Hash</a>
 */
public enum HashAlgorithm {
  SHA256("sha256", "SHA-256", 32),
  SHA384("sha384", "SHA-384", 48),
  SHA512("sha512", "SHA-512", 64);

  private final String aconName;
  private final String jcaName;
  private final int length;

  HashAlgorithm(String aconName, String jcaName, int length) {
    this.aconName = aconName;
    this.jcaName = jcaName;
    this.length = length;
  }

  /** The name used in ACON strings: {@code sha256}, {@code sha384}, {@code sha512}. */
  public String aconName() {
    return aconName;
  }

  /** The JCA name, e.g. {@code SHA-384}. */
  public String jcaName() {
    return jcaName;
  }

  /** Digest length in bytes. */
  public int length() {
    return length;
  }

  /** Digest length in hex characters. */
  public int hexLength() {
    return 2 * length;
  }

  /** A fresh {@link MessageDigest}. */
  public MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance(jcaName);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(jcaName + " missing from this JRE", e);
    }
  }

  /** Hash of {@code data}. */
  public byte[] hash(byte[] data) {
    return newDigest().digest(data);
  }

  /**
   * Parses an ACON hash name.
   *
   * @throws IllegalArgumentException naming the accepted names if {@code name} is not one
   */
  public static HashAlgorithm fromAconName(String name) {
    for (HashAlgorithm a : values()) {
      if (a.aconName.equals(name)) {
        return a;
      }
    }
    String lower = name.toLowerCase(Locale.ROOT);
    String why =
        lower.equals("sha1") || lower.equals("md5") || lower.equals("sha224")
            ? " is weaker than SHA-256 and not accepted"
            : " is not a known hash algorithm";
    throw new IllegalArgumentException(
        "\"" + name + "\"" + why + " (use sha384, sha256 or sha512)");
  }

  /**
   * The hash ACON deduces from a signing certificate: the hash of the CA's signature algorithm
   * ({@code ecdsa-with-SHA384} gives SHA-384), or the hash an EdDSA algorithm mandates (Ed25519:
   * SHA-512).
   *
   * @throws IllegalArgumentException if the algorithm's hash is weaker than SHA-256 or unknown
   * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#hash">ACON: Hash</a>
   */
  public static HashAlgorithm forCertificate(X509Certificate cert) {
    String oid = cert.getSigAlgOID();
    switch (oid) {
      case "1.2.840.10045.4.3.2": // ecdsa-with-SHA256
      case "1.2.840.113549.1.1.11": // sha256WithRSAEncryption
        return SHA256;
      case "1.2.840.10045.4.3.3": // ecdsa-with-SHA384
      case "1.2.840.113549.1.1.12": // sha384WithRSAEncryption
        return SHA384;
      case "1.2.840.10045.4.3.4": // ecdsa-with-SHA512
      case "1.2.840.113549.1.1.13": // sha512WithRSAEncryption
      case "1.3.101.112": // Ed25519 mandates SHA-512
        return SHA512;
      case "1.2.840.10045.4.1": // ecdsa-with-SHA1
      case "1.2.840.113549.1.1.5": // sha1WithRSAEncryption
      case "1.2.840.113549.1.1.4": // md5WithRSAEncryption
      case "1.2.840.10045.4.3.1": // ecdsa-with-SHA224
      case "1.2.840.113549.1.1.14": // sha224WithRSAEncryption
        throw new IllegalArgumentException(
            "certificate is signed with "
                + cert.getSigAlgName()
                + ", whose hash is weaker than SHA-256; ACON derives the signer ID from that hash,"
                + " so re-issue the certificate with ecdsa-with-SHA384");
      default:
        throw new IllegalArgumentException(
            "certificate signature algorithm "
                + cert.getSigAlgName()
                + " ("
                + oid
                + ") has no hash ACON can deduce; use ecdsa-with-SHA384, -SHA256, -SHA512 or"
                + " Ed25519");
    }
  }

  @Override
  public String toString() {
    return aconName;
  }
}
