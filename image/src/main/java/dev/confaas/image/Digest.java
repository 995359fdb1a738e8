package dev.confaas.image;

import java.util.Arrays;

/**
 * A content digest written as ACON writes it: {@code HASH/hex}, e.g. {@code sha384/8bf8...}. FS
 * layers are addressed by the SHA-384 of their uncompressed tar.
 */
public final class Digest implements LayerRef {
  private final HashAlgorithm algorithm;
  private final byte[] value;

  private Digest(HashAlgorithm algorithm, byte[] value) {
    this.algorithm = algorithm;
    this.value = value;
  }

  /** The digest of {@code data} under {@code algorithm}. */
  public static Digest of(HashAlgorithm algorithm, byte[] data) {
    return new Digest(algorithm, algorithm.hash(data));
  }

  /** The SHA-384 digest of {@code data}: how layers are addressed. */
  public static Digest sha384(byte[] data) {
    return of(HashAlgorithm.SHA384, data);
  }

  /**
   * Wraps an already computed hash value.
   *
   * @throws IllegalArgumentException if its length does not fit {@code algorithm}
   */
  public static Digest ofHashValue(HashAlgorithm algorithm, byte[] hashValue) {
    if (hashValue.length != algorithm.length()) {
      throw new IllegalArgumentException(
          algorithm + " digest must be " + algorithm.length() + " bytes, got " + hashValue.length);
    }
    return new Digest(algorithm, hashValue.clone());
  }

  /**
   * Parses {@code HASH/hex}.
   *
   * @throws IllegalArgumentException saying what is wrong: missing {@code /}, unknown or weak hash,
   *     wrong length, non-hex or uppercase digit
   */
  public static Digest parse(String s) {
    int slash = s.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException(
          "\"" + s + "\" is not a digest: expected HASH/HEX such as sha384/<96 hex digits>");
    }
    HashAlgorithm alg = HashAlgorithm.fromAconName(s.substring(0, slash));
    byte[] v = Hex.decode(s.substring(slash + 1), alg.hexLength(), alg + " digest");
    return new Digest(alg, v);
  }

  public HashAlgorithm algorithm() {
    return algorithm;
  }

  /** The hash value (a copy). */
  public byte[] value() {
    return value.clone();
  }

  /** The hash value in lowercase hex. */
  public String hex() {
    return Hex.encode(value);
  }

  /** True if this is the digest of {@code data}. */
  public boolean matches(byte[] data) {
    return java.security.MessageDigest.isEqual(value, algorithm.hash(data));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Digest
        && ((Digest) o).algorithm == algorithm
        && Arrays.equals(((Digest) o).value, value);
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
