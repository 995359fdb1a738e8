package dev.confaas.image;

import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Arrays;

/**
 * A manifest with its signature and the signer's DER certificate: what an image is when it travels
 * (CLI → gateway → TD agent). {@link #of} checks the certificate and deduces the hash; {@link
 * #verify()} checks the signature over the canonical manifest.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#signing">ACON: Signing</a>
 */
public final class SignedManifest {
  private final Manifest manifest;
  private final byte[] signature;
  private final byte[] certificateDer;
  private final X509Certificate certificate;
  private final SignatureScheme scheme;
  private final SignerId signerId;
  private final ImageId imageId;

  private SignedManifest(
      Manifest manifest,
      byte[] signature,
      byte[] certificateDer,
      X509Certificate certificate,
      SignatureScheme scheme) {
    this.manifest = manifest;
    this.signature = signature;
    this.certificateDer = certificateDer;
    this.certificate = certificate;
    this.scheme = scheme;
    this.signerId = SignerId.of(certificate, certificateDer);
    this.imageId = ImageId.of(signerId, manifest.canonicalBytes());
  }

  /**
   * Binds a manifest to its signature and certificate; does not check the signature yet.
   *
   * @throws ImageVerificationException if the certificate is malformed DER, its hash is weaker than
   *     SHA-256 or cannot be deduced, or its key type or curve is not supported
   */
  public static SignedManifest of(Manifest manifest, byte[] signature, byte[] certificateDer)
      throws ImageVerificationException {
    X509Certificate cert;
    try {
      cert = SignerId.decodeCertificate(certificateDer);
    } catch (IllegalArgumentException e) {
      throw new ImageVerificationException(e.getMessage(), e);
    }
    SignatureScheme scheme = SignatureScheme.forCertificate(cert);
    return new SignedManifest(manifest, signature.clone(), certificateDer.clone(), cert, scheme);
  }

  /**
   * Parses the manifest bytes, then {@link #of}.
   *
   * @throws ManifestException if the manifest is invalid
   * @throws ImageVerificationException if the certificate is unusable
   */
  public static SignedManifest parse(byte[] manifestJson, byte[] signature, byte[] certificateDer)
      throws ImageVerificationException {
    return parse(manifestJson, signature, certificateDer, ImageLimits.defaults());
  }

  /**
   * Parses the manifest bytes within {@code limits} ({@link Manifest#parse(byte[], ImageLimits)}),
   * then {@link #of}.
   *
   * @throws ManifestException if the manifest is invalid or too large
   * @throws ImageVerificationException if the certificate is unusable
   */
  public static SignedManifest parse(
      byte[] manifestJson, byte[] signature, byte[] certificateDer, ImageLimits limits)
      throws ImageVerificationException {
    return of(Manifest.parse(manifestJson, limits), signature, certificateDer);
  }

  /**
   * Checks that the signature verifies over the canonical manifest with the certificate's key and
   * the deduced hash. A self-issued certificate (issuer = subject, and no differing key
   * identifiers) must verify itself, so that an altered certificate is named as such even when its
   * key is intact. ACON names a signer by the hash of the exact certificate bytes, so whether that
   * signer (or its CA) is trusted is the caller's policy, not checked here; neither is the
   * certificate's validity period.
   *
   * @throws ImageVerificationException saying which check failed
   */
  public void verify() throws ImageVerificationException {
    if (isSelfIssued(certificate) && !selfSignatureVerifies(certificate)) {
      throw new ImageVerificationException(
          "certificate's self-signature does not verify: the certificate was altered (a CA-issued"
              + " certificate must not repeat its CA's name without key identifiers)");
    }
    if (scheme.ecdsa) {
      String derError = SignatureScheme.ecdsaDerError(signature);
      if (derError != null) {
        throw new ImageVerificationException(
            "signature is malformed: expected a DER-encoded ECDSA signature (as 'openssl dgst"
                + " -sign' writes), but it is "
                + derError);
      }
    } else if (signature.length != 64) {
      throw new ImageVerificationException(
          "signature is malformed: an Ed25519 signature is 64 bytes, got " + signature.length);
    }
    boolean ok;
    try {
      Signature v = Signature.getInstance(scheme.jcaAlgorithm);
      v.initVerify(certificate.getPublicKey());
      v.update(manifest.canonicalBytes());
      ok = v.verify(signature);
    } catch (GeneralSecurityException e) {
      throw new ImageVerificationException(
          "signature could not be checked with " + scheme.jcaAlgorithm + ": " + e.getMessage(), e);
    }
    if (!ok) {
      throw new ImageVerificationException(
          "signature does not verify: it was not made by this certificate's "
              + scheme.keyDescription
              + " key over this canonical manifest with "
              + scheme.hash
              + " (the manifest or the signature was altered, or another key signed it)");
    }
  }

  private static boolean selfSignatureVerifies(X509Certificate cert) {
    try {
      cert.verify(cert.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * True if the certificate says it signed itself: issuer = subject and, when both key identifiers
   * are present, authority key ID = subject key ID (a CA-issued certificate may reuse its CA's
   * name, but not its key ID).
   */
  private static boolean isSelfIssued(X509Certificate cert) {
    if (!cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
      return false;
    }
    byte[] aki = cert.getExtensionValue("2.5.29.35");
    byte[] ski = cert.getExtensionValue("2.5.29.14");
    if (aki == null || ski == null) {
      return true;
    }
    try {
      byte[] akiId =
          org.bouncycastle.asn1.x509.AuthorityKeyIdentifier.getInstance(
                  org.bouncycastle.asn1.ASN1OctetString.getInstance(aki).getOctets())
              .getKeyIdentifier();
      byte[] skiId =
          org.bouncycastle.asn1.x509.SubjectKeyIdentifier.getInstance(
                  org.bouncycastle.asn1.ASN1OctetString.getInstance(ski).getOctets())
              .getKeyIdentifier();
      return akiId == null || Arrays.equals(akiId, skiId);
    } catch (RuntimeException malformed) {
      return true; // let the signature check speak
    }
  }

  public Manifest manifest() {
    return manifest;
  }

  /** The signature bytes (a copy). */
  public byte[] signature() {
    return signature.clone();
  }

  /** The signer's certificate, DER (a copy). */
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** The hash ACON deduces from the certificate; used for the signer ID, image ID and signature. */
  public HashAlgorithm hashAlgorithm() {
    return scheme.hash;
  }

  public SignerId signerId() {
    return signerId;
  }

  public ImageId imageId() {
    return imageId;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SignedManifest
        && ((SignedManifest) o).imageId.equals(imageId)
        && Arrays.equals(((SignedManifest) o).signature, signature);
  }

  @Override
  public int hashCode() {
    return imageId.hashCode();
  }

  @Override
  public String toString() {
    return "SignedManifest[" + imageId + "]";
  }
}
