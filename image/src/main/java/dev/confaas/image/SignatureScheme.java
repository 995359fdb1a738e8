package dev.confaas.image;

import java.io.IOException;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * How a manifest signature is made and checked for a given certificate: the JCA algorithm from the
 * certificate's key and the hash ACON deduces from the certificate. Supported keys: ECDSA on P-256,
 * P-384 (recommended) and P-521, with the deduced hash; Ed25519 (pure EdDSA over the canonical
 * manifest, SHA-512 mandated, so its certificate must deduce SHA-512).
 */
final class SignatureScheme {
  private static final String EC_KEY = "1.2.840.10045.2.1";
  private static final String ED25519 = "1.3.101.112";

  final HashAlgorithm hash;
  final String jcaAlgorithm;
  final String keyDescription;
  final boolean ecdsa;

  private SignatureScheme(
      HashAlgorithm hash, String jcaAlgorithm, String keyDescription, boolean ecdsa) {
    this.hash = hash;
    this.jcaAlgorithm = jcaAlgorithm;
    this.keyDescription = keyDescription;
    this.ecdsa = ecdsa;
  }

  /** The scheme for a certificate, or why it cannot sign ACON manifests. */
  static SignatureScheme forCertificate(X509Certificate cert) throws ImageVerificationException {
    HashAlgorithm hash;
    try {
      hash = HashAlgorithm.forCertificate(cert);
    } catch (IllegalArgumentException e) {
      throw new ImageVerificationException(e.getMessage(), e);
    }
    PublicKey key = cert.getPublicKey();
    SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
    String alg = spki.getAlgorithm().getAlgorithm().getId();
    if (alg.equals(EC_KEY)) {
      ASN1Encodable params = spki.getAlgorithm().getParameters();
      String curve =
          params instanceof ASN1ObjectIdentifier ? ((ASN1ObjectIdentifier) params).getId() : "";
      String name;
      switch (curve) {
        case "1.2.840.10045.3.1.7":
          name = "P-256";
          break;
        case "1.3.132.0.34":
          name = "P-384";
          break;
        case "1.3.132.0.35":
          name = "P-521";
          break;
        default:
          throw new ImageVerificationException(
              "certificate key is on EC curve "
                  + (curve.isEmpty() ? "(explicit parameters)" : curve)
                  + ", which is not supported; use P-384 (secp384r1)");
      }
      String jca = hash.jcaName().replace("-", "") + "withECDSA";
      return new SignatureScheme(hash, jca, "ECDSA " + name, true);
    }
    if (alg.equals(ED25519)) {
      if (hash != HashAlgorithm.SHA512) {
        throw new ImageVerificationException(
            "certificate key is Ed25519, which mandates SHA-512, but the certificate is signed with"
                + " "
                + cert.getSigAlgName()
                + " (deducing "
                + hash
                + "); the image's IDs would be ambiguous, so re-issue the certificate");
      }
      return new SignatureScheme(hash, "Ed25519", "Ed25519", false);
    }
    throw new ImageVerificationException(
        "certificate key type "
            + key.getAlgorithm()
            + " is not supported for signing manifests; use ECDSA P-384 (or P-256, P-521,"
            + " Ed25519)");
  }

  /** Null if {@code sig} is strict DER {@code SEQUENCE { r INTEGER, s INTEGER }}, else why not. */
  static String ecdsaDerError(byte[] sig) {
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(sig);
      if (!(p instanceof ASN1Sequence) || ((ASN1Sequence) p).size() != 2) {
        return "not a SEQUENCE of two INTEGERs";
      }
      for (ASN1Encodable e : (ASN1Sequence) p) {
        if (!(e instanceof ASN1Integer) || ((ASN1Integer) e).getValue().signum() <= 0) {
          return "r and s must be positive INTEGERs";
        }
      }
      byte[] again = p.getEncoded(ASN1Encoding.DER);
      if (!java.util.Arrays.equals(again, sig)) {
        return "not in strict DER form (extra bytes or non-minimal encoding)";
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return "not ASN.1 DER (" + e.getMessage() + ")";
    }
  }
}
