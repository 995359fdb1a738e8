package dev.confaas.policy;

import java.nio.charset.StandardCharsets;

/**
 * An ACON <em>Image Alias</em> of the form {@code NAME:SVN} (<a
 * href="https://github.com/intel/ACON/blob/main/doc/Image.md#aliases">Image.md, Aliases</a>): a name
 * the signer gives its image in {@code aliases.self["."]} and a Secure Version Number. A launch policy
 * rule {@code HASH/SIGNER/NAME:SVN} accepts any image from that signer whose self aliases include
 * {@code NAME} with an SVN at least the rule's.
 *
 * <p>The SVN is an unsigned 64-bit number as in acond ({@code u64}); it is written in decimal without
 * leading zeros, so that {@code Foo:1} and {@code Foo:01} cannot name two different aliases that
 * compare equal. {@code NAME} is a valid Linux file name component without {@code /} and, since the
 * SVN follows the only colon, without {@code :}.
 */
public record ImageAlias(String name, long svn) {

  /** Linux NAME_MAX: acond stores each alias as a symlink of this name. */
  private static final int NAME_MAX = 255;

  public ImageAlias {
    String problem = nameProblem(name);
    if (problem != null) {
      throw new InvalidPolicyException("alias name '" + name + "' " + problem);
    }
  }

  /**
   * Parses {@code NAME:SVN}.
   *
   * @throws InvalidPolicyException naming the alias and what is wrong with it
   */
  public static ImageAlias parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new InvalidPolicyException("alias is empty; write NAME:SVN, e.g. MyFunction:1");
    }
    int colon = text.indexOf(':');
    if (colon < 0 || colon != text.lastIndexOf(':')) {
      throw new InvalidPolicyException(
          "alias '" + text + "' must have exactly one ':' separating NAME and SVN, e.g. MyFunction:1");
    }
    String name = text.substring(0, colon);
    String svn = text.substring(colon + 1);
    if (svn.isEmpty() || !svn.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new InvalidPolicyException(
          "alias '" + text + "' has SVN '" + svn + "'; the SVN must be a decimal number, e.g. "
              + name + ":1");
    }
    if (svn.length() > 1 && svn.charAt(0) == '0') {
      throw new InvalidPolicyException(
          "alias '" + text + "' has SVN '" + svn + "' with a leading zero; write "
              + name + ":" + svn.replaceFirst("^0+(?=.)", ""));
    }
    long value;
    try {
      value = Long.parseUnsignedLong(svn);
    } catch (NumberFormatException e) {
      throw new InvalidPolicyException(
          "alias '" + text + "' has SVN " + svn + ", larger than 18446744073709551615 (2^64-1)");
    }
    if (text.getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
      throw new InvalidPolicyException(
          "alias '" + text.substring(0, 32) + "...' is longer than " + NAME_MAX + " bytes");
    }
    return new ImageAlias(name, value);
  }

  /** True if this alias (on an image) satisfies a rule that asks for {@code required}. */
  public boolean satisfies(ImageAlias required) {
    return name.equals(required.name) && Long.compareUnsigned(svn, required.svn) >= 0;
  }

  @Override
  public String toString() {
    return name + ":" + Long.toUnsignedString(svn);
  }

  private static String nameProblem(String name) {
    if (name == null || name.isEmpty()) {
      return "is empty; an alias is NAME:SVN with a non-empty NAME";
    }
    if (name.equals(".") || name.equals("..")) {
      return "is not allowed ('.' and '..' are reserved)";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '/' || c == ':' || c == '\0') {
        return "contains '" + (c == '\0' ? "\\0" : String.valueOf(c)) + "' at position " + i
            + "; NAME must be a file name without '/', ':' or NUL";
      }
    }
    return null;
  }
}
