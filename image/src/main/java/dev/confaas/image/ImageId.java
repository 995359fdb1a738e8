package dev.confaas.image;

import java.util.Objects;

/**
 * Identity of a signed image: {@code HASH/SIGNER/MANIFEST}, the signer ID followed by the hex HASH
 * of the canonical manifest, under the same HASH. This is what acond extends into RTMR3.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#hash">ACON: Image ID</a>
 */
public final class ImageId {
  private final SignerId signerId;
  private final String manifestHex;

  private ImageId(SignerId signerId, String manifestHex) {
    this.signerId = signerId;
    this.manifestHex = manifestHex;
  }

  /** The image ID of a manifest (its canonical bytes) signed by {@code signer}. */
  public static ImageId of(SignerId signer, byte[] canonicalManifest) {
    return new ImageId(signer, Hex.encode(signer.algorithm().hash(canonicalManifest)));
  }

  /** The image ID of {@code manifest} signed by {@code signer}. */
  public static ImageId of(SignerId signer, Manifest manifest) {
    return of(signer, manifest.canonicalBytes());
  }

  /**
   * Parses {@code HASH/SIGNER/MANIFEST}.
   *
   * @throws IllegalArgumentException saying which part is wrong
   */
  public static ImageId parse(String s) {
    int last = s.lastIndexOf('/');
    if (last < 0 || s.indexOf('/') == last) {
      throw new IllegalArgumentException(
          "\"" + s + "\" is not an image ID: expected HASH/SIGNER/MANIFEST");
    }
    SignerId signer;
    try {
      signer = SignerId.parse(s.substring(0, last));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("\"" + s + "\" is not an image ID: " + e.getMessage(), e);
    }
    String m = s.substring(last + 1);
    try {
      Hex.decode(m, signer.algorithm().hexLength(), "manifest digest");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("\"" + s + "\" is not an image ID: " + e.getMessage(), e);
    }
    return new ImageId(signer, m);
  }

  public SignerId signerId() {
    return signerId;
  }

  public HashAlgorithm algorithm() {
    return signerId.algorithm();
  }

  /** Hex hash of the canonical manifest. */
  public String manifestHex() {
    return manifestHex;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImageId
        && ((ImageId) o).signerId.equals(signerId)
        && ((ImageId) o).manifestHex.equals(manifestHex);
  }

  @Override
  public int hashCode() {
    return Objects.hash(signerId, manifestHex);
  }

  /** {@code HASH/SIGNER/MANIFEST}. */
  @Override
  public String toString() {
    return signerId + "/" + manifestHex;
  }
}
