package dev.confaas.image;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An alias name with its secure version number, {@code NAME:SVN} (e.g. {@code python3.12:4}). ACON
 * requires an alias to be a valid Linux file name (no {@code /}, no NUL, at most 255 bytes, not
 * {@code .} or {@code ..}); by ACON's convention, which ConFaaS enforces, it ends in {@code :SVN},
 * a non-negative decimal integer without leading zeros (so that one SVN has one spelling).
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#syntax">ACON: alias syntax</a>
 */
public final class NameSvn {
  private final String name;
  private final long svn;

  private NameSvn(String name, long svn) {
    this.name = name;
    this.svn = svn;
  }

  /**
   * An alias from its parts.
   *
   * @throws IllegalArgumentException if the result would not be a valid alias
   */
  public static NameSvn of(String name, long svn) {
    if (svn < 0) {
      throw new IllegalArgumentException("SVN must be non-negative, got " + svn);
    }
    return parse(name + ":" + svn);
  }

  /**
   * Parses {@code NAME:SVN}.
   *
   * @throws IllegalArgumentException saying which rule {@code s} breaks
   */
  public static NameSvn parse(String s) {
    String bad = "\"" + s + "\" is not a valid alias NAME:SVN: ";
    if (s.equals(".") || s.equals("..")) {
      throw new IllegalArgumentException(bad + "'.' and '..' are not allowed");
    }
    if (s.indexOf('/') >= 0 || s.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(bad + "it must be a file name, without '/' or NUL");
    }
    if (s.getBytes(StandardCharsets.UTF_8).length > 255) {
      throw new IllegalArgumentException(bad + "longer than 255 bytes (a Linux file name limit)");
    }
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(bad + "missing ':SVN'");
    }
    String name = s.substring(0, colon);
    String svn = s.substring(colon + 1);
    if (name.isEmpty()) {
      throw new IllegalArgumentException(bad + "NAME is empty");
    }
    if (svn.isEmpty()
        || !svn.chars().allMatch(c -> c >= '0' && c <= '9')
        || (svn.length() > 1 && svn.charAt(0) == '0')) {
      throw new IllegalArgumentException(
          bad + "SVN \"" + svn + "\" must be a non-negative decimal integer without leading zeros");
    }
    long v;
    try {
      v = Long.parseLong(svn);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(bad + "SVN " + svn + " is too large", e);
    }
    return new NameSvn(name, v);
  }

  public String name() {
    return name;
  }

  /** The secure version number; a rule for SVN n accepts aliases with SVN &ge; n. */
  public long svn() {
    return svn;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NameSvn && ((NameSvn) o).name.equals(name) && ((NameSvn) o).svn == svn;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, svn);
  }

  /** {@code NAME:SVN}. */
  @Override
  public String toString() {
    return name + ":" + svn;
  }
}
