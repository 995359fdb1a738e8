package dev.confaas.image;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;

/**
 * Signs manifests with a private key and its certificate, as ACON specifies: the signature covers
 * the canonical manifest, with the hash deduced from the certificate. For ECDSA the result is the
 * DER signature {@code jq -jcS . m.json | openssl dgst -sha384 -sign key.pem} writes.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#signing">ACON: Signing</a>
 */
public final class ImageSigner {
  private final PrivateKey key;
  private final byte[] certificateDer;
  private final SignatureScheme scheme;
  private final SignerId signerId;

  /**
   * @throws IllegalArgumentException if the certificate cannot sign ACON manifests (see {@link
   *     SignedManifest#of}) or {@code key} is not the private key of its public key
   */
  public ImageSigner(PrivateKey key, byte[] certificateDer) {
    this.key = key;
    this.certificateDer = certificateDer.clone();
    X509Certificate cert = SignerId.decodeCertificate(certificateDer);
    try {
      this.scheme = SignatureScheme.forCertificate(cert);
    } catch (ImageVerificationException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    this.signerId = SignerId.of(cert, certificateDer);
    // Sign and verify a probe so that a key/certificate mix-up fails here, not at deploy time.
    byte[] probe = "confaas key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    boolean matches;
    try {
      Signature v = Signature.getInstance(scheme.jcaAlgorithm);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      matches = v.verify(signBytes(probe));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the private key cannot sign for this certificate ("
              + scheme.keyDescription
              + "): "
              + e.getMessage(),
          e);
    }
    if (!matches) {
      throw new IllegalArgumentException(
          "the private key does not belong to the certificate (its public key differs)");
    }
  }

  /** The signature over {@code manifest}'s canonical bytes. */
  public byte[] sign(Manifest manifest) {
    return signBytes(manifest.canonicalBytes());
  }

  /** Signs and bundles. */
  public SignedManifest signed(Manifest manifest) {
    try {
      return SignedManifest.of(manifest, sign(manifest), certificateDer);
    } catch (ImageVerificationException e) {
      throw new IllegalStateException("certificate was checked in the constructor", e);
    }
  }

  private byte[] signBytes(byte[] data) {
    try {
      Signature s = Signature.getInstance(scheme.jcaAlgorithm);
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot sign with a " + key.getAlgorithm() + " key using " + scheme.jcaAlgorithm, e);
    }
  }

  public SignerId signerId() {
    return signerId;
  }

  public HashAlgorithm hashAlgorithm() {
    return scheme.hash;
  }

  /** The certificate, DER (a copy). */
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  /** The ID {@code manifest} gets when signed by this signer. */
  public ImageId imageId(Manifest manifest) {
    return ImageId.of(signerId, manifest.canonicalBytes());
  }
}
