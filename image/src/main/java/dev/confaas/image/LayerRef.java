package dev.confaas.image;

/**
 * An entry of a manifest's {@code layers} (or a key of {@code aliases.contents}): either a layer
 * {@link Digest} ({@code sha384/<hex>}) or an {@link AliasRef} ({@code
 * signer/HASH/SIGNER/NAME:SVN}) that a vendor's manifest maps to a digest.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#filesystem-layers">ACON: FS
 *     layers</a>
 */
public sealed interface LayerRef permits Digest, AliasRef {

  /**
   * Parses a layer reference.
   *
   * @throws IllegalArgumentException saying why {@code s} is neither form
   */
  static LayerRef parse(String s) {
    if (s.startsWith(AliasRef.PREFIX)) {
      return AliasRef.parse(s);
    }
    try {
      return Digest.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "\""
              + s
              + "\" is not a layer reference: "
              + e.getMessage()
              + " (expected sha384/<96 hex digits> or signer/HASH/SIGNER/NAME:SVN)");
    }
  }
}
