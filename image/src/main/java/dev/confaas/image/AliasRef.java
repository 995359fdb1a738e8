package dev.confaas.image;

import java.util.Objects;

/**
 * A reference to an alias another signer defined: {@code signer/HASH/SIGNER/NAME:SVN}. A function
 * manifest lists its vendor framework layer this way; the vendor's signed manifest maps the alias
 * to a layer digest ({@code aliases.contents}), so the vendor can update the layer without the
 * author re-signing.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#aliases">ACON: Aliases</a>
 */
public final class AliasRef implements LayerRef {
  static final String PREFIX = "signer/";

  private final SignerId signer;
  private final NameSvn alias;

  private AliasRef(SignerId signer, NameSvn alias) {
    this.signer = signer;
    this.alias = alias;
  }

  public static AliasRef of(SignerId signer, NameSvn alias) {
    return new AliasRef(Objects.requireNonNull(signer), Objects.requireNonNull(alias));
  }

  /**
   * Parses {@code signer/HASH/SIGNER/NAME:SVN}.
   *
   * @throws IllegalArgumentException saying which part is wrong
   */
  public static AliasRef parse(String s) {
    String bad = "\"" + s + "\" is not an alias reference signer/HASH/SIGNER/NAME:SVN: ";
    if (!s.startsWith(PREFIX)) {
      throw new IllegalArgumentException(bad + "it must start with 'signer/'");
    }
    String rest = s.substring(PREFIX.length());
    int first = rest.indexOf('/');
    int second = first < 0 ? -1 : rest.indexOf('/', first + 1);
    if (second < 0) {
      throw new IllegalArgumentException(bad + "missing HASH/SIGNER/ before the alias");
    }
    try {
      SignerId signer = SignerId.parse(rest.substring(0, second));
      NameSvn alias = NameSvn.parse(rest.substring(second + 1));
      return new AliasRef(signer, alias);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(bad + e.getMessage(), e);
    }
  }

  public SignerId signerId() {
    return signer;
  }

  public NameSvn nameSvn() {
    return alias;
  }

  public String name() {
    return alias.name();
  }

  public long svn() {
    return alias.svn();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AliasRef
        && ((AliasRef) o).signer.equals(signer)
        && ((AliasRef) o).alias.equals(alias);
  }

  @Override
  public int hashCode() {
    return Objects.hash(signer, alias);
  }

  /** {@code signer/HASH/SIGNER/NAME:SVN}. */
  @Override
  public String toString() {
    return PREFIX + signer + "/" + alias;
  }
}
