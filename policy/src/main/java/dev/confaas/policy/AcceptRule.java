package dev.confaas.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * One entry of a launch policy's {@code accepts}: {@code HASH/SIGNER/MANIFEST} (<a
 * href="https://github.com/intel/ACON/blob/main/doc/Image.md#accepts">Image.md, accepts</a>).
 *
 * <ul>
 *   <li>{@code HASH} is the hash algorithm of the image IDs the rule can match ({@code sha384}, ...).
 *       It is checked: a {@code sha256/...} rule never matches an image whose ID uses {@code sha384},
 *       since the signer and manifest digests of the two are not comparable.
 *   <li>{@code SIGNER} is the signer digest under {@code HASH} (lowercase hex of the algorithm's length)
 *       or {@code *} for any signer.
 *   <li>{@code MANIFEST} is one of: the manifest digest under {@code HASH}; an image alias
 *       {@code NAME:SVN}, matching an image of that signer with a self alias of the same {@code NAME}
 *       and an SVN at least the rule's; or {@code *} for any manifest.
 * </ul>
 *
 * <p>Edge cases, decided here:
 *
 * <ul>
 *   <li>{@code HASH/*&#47;*} is valid and accepts every image whose ID uses {@code HASH} ("accept all"
 *       for that algorithm). With {@code rejectUnaccepted=false} it only adds edges for transitivity.
 *   <li>{@code HASH/*&#47;DIGEST} matches the manifest with that digest under {@code HASH}, whoever
 *       signed it (the spec's fourth example rule).
 *   <li>{@code HASH/*&#47;NAME:SVN} is invalid: self aliases are bound to the signer that defines them,
 *       so without a signer anyone could claim {@code NAME:SVN} (acond never matches such a rule either).
 *   <li>Upper-case hex, a digest whose length is not {@code HASH}'s, an unknown {@code HASH}, or a rule
 *       without exactly three {@code /}-separated parts are invalid: acond compares IDs as lowercase
 *       strings, so such a rule could never match and is almost certainly a mistake in a signed
 *       manifest; refusing it tells the author now rather than at the first refused launch.
 * </ul>
 *
 * <p>Differences from acond ({@code acond/src/pod.rs}, {@code accept_image}): acond ignores
 * {@code HASH} and matches a rule's manifest digest even when the rule names a different signer; this
 * implementation requires both to agree, which is what the spec's wording ("requires exact match on
 * all 3 components") says.
 */
final class AcceptRule {
  private final String text;
  private final String hash;
  private final String signer; // null means '*'
  private final String manifestDigest; // set when MANIFEST is a digest
  private final ImageAlias alias; // set when MANIFEST is NAME:SVN

  private AcceptRule(
      String text, String hash, String signer, String manifestDigest, ImageAlias alias) {
    this.text = text;
    this.hash = hash;
    this.signer = signer;
    this.manifestDigest = manifestDigest;
    this.alias = alias;
  }

  /**
   * Parses one rule.
   *
   * @throws InvalidPolicyException saying which part of the rule is wrong and what a valid one is
   */
  public static AcceptRule parse(String rule) {
    if (rule == null || rule.isEmpty()) {
      throw new InvalidPolicyException("rule is empty; write HASH/SIGNER/MANIFEST");
    }
    String[] parts = rule.split("/", -1);
    if (parts.length != 3) {
      throw new InvalidPolicyException(
          "rule '" + rule + "' has " + parts.length + " '/'-separated parts; a rule is "
              + "HASH/SIGNER/MANIFEST, e.g. sha384/<signer hex>/MyFunction:1 or sha384/<signer hex>/*");
    }
    String hash = parts[0];
    if (!AconHashNames.isKnownHash(hash)) {
      throw new InvalidPolicyException(
          "rule '" + rule + "' has HASH '" + hash + "'; use one of " + AconHashNames.knownHashes()
              + " (lowercase)");
    }
    String signer = null;
    if (!parts[1].equals("*")) {
      String problem = AconHashNames.digestProblem(hash, parts[1]);
      if (problem != null) {
        throw new InvalidPolicyException(
            "rule '" + rule + "': SIGNER " + problem + " (or use * for any signer)");
      }
      signer = parts[1];
    }
    String manifest = parts[2];
    if (manifest.equals("*")) {
      return new AcceptRule(rule, hash, signer, null, null);
    }
    if (manifest.indexOf(':') >= 0) {
      if (signer == null) {
        throw new InvalidPolicyException(
            "rule '" + rule + "' matches self alias " + manifest + " of any signer; self aliases are "
                + "bound to the signer that defines them, so name the signer: "
                + hash + "/<signer hex>/" + manifest);
      }
      ImageAlias alias;
      try {
        alias = ImageAlias.parse(manifest);
      } catch (InvalidPolicyException e) {
        throw new InvalidPolicyException("rule '" + rule + "': MANIFEST " + e.getMessage());
      }
      return new AcceptRule(rule, hash, signer, null, alias);
    }
    String problem = AconHashNames.digestProblem(hash, manifest);
    if (problem != null) {
      throw new InvalidPolicyException(
          "rule '" + rule + "': MANIFEST is neither *, a self alias NAME:SVN, nor a " + hash
              + " digest: it " + problem);
    }
    return new AcceptRule(rule, hash, signer, manifest, null);
  }

  /** The hash algorithm of the image IDs this rule can match. */
  public String hash() {
    return hash;
  }

  /** The signer digest this rule requires, or empty for {@code *}. */
  public Optional<String> signer() {
    return Optional.ofNullable(signer);
  }

  /** The manifest digest this rule requires, if {@code MANIFEST} is a digest. */
  public Optional<String> manifestDigest() {
    return Optional.ofNullable(manifestDigest);
  }

  /** The self alias this rule requires (at least this SVN), if {@code MANIFEST} is {@code NAME:SVN}. */
  public Optional<ImageAlias> alias() {
    return Optional.ofNullable(alias);
  }

  /** True if this rule accepts {@code image}. */
  public boolean matches(PolicyImage image) {
    return compare(image).rank() == Closeness.MATCH;
  }

  /** How close this rule comes to matching {@code image}, and why it does not. */
  Comparison compare(PolicyImage image) {
    if (!hash.equals(image.hash())) {
      return new Comparison(
          Closeness.HASH_DIFFERS,
          "its HASH " + hash + " differs from the image's " + image.hash());
    }
    if (signer != null && !signer.equals(image.signer())) {
      return new Comparison(
          Closeness.SIGNER_DIFFERS,
          "it names signer " + abbreviate(signer) + " but the image is signed by "
              + abbreviate(image.signer()));
    }
    if (manifestDigest != null) {
      return manifestDigest.equals(image.manifest())
          ? new Comparison(Closeness.MATCH, "")
          : new Comparison(
              Closeness.MANIFEST_DIFFERS,
              "it names manifest " + abbreviate(manifestDigest) + " but the image's is "
                  + abbreviate(image.manifest()));
    }
    if (alias != null) {
      ImageAlias sameName = null;
      for (ImageAlias own : image.selfAliases()) {
        if (own.satisfies(alias)) {
          return new Comparison(Closeness.MATCH, "");
        }
        if (own.name().equals(alias.name())
            && (sameName == null || Long.compareUnsigned(own.svn(), sameName.svn()) > 0)) {
          sameName = own;
        }
      }
      if (sameName != null) {
        return new Comparison(
            Closeness.SVN_TOO_LOW,
            "it requires " + alias + " but the image's highest " + alias.name() + " alias is "
                + sameName + " (SVN " + Long.toUnsignedString(sameName.svn()) + " < "
                + Long.toUnsignedString(alias.svn()) + ")");
      }
      return new Comparison(
          Closeness.MANIFEST_DIFFERS,
          "it requires self alias " + alias + " but the image's self aliases are "
              + (image.selfAliases().isEmpty() ? "none" : image.selfAliases().toString()));
    }
    return new Comparison(Closeness.MATCH, "");
  }

  /** How near a rule came to matching, best last. */
  enum Closeness {
    HASH_DIFFERS,
    SIGNER_DIFFERS,
    MANIFEST_DIFFERS,
    SVN_TOO_LOW,
    MATCH
  }

  record Comparison(Closeness rank, String reason) {}

  private static String abbreviate(String hex) {
    return hex.length() <= 16 ? hex : hex.substring(0, 12) + "...";
  }

  /** The rule exactly as written in the manifest. */
  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AcceptRule r && r.text.equals(text);
  }

  @Override
  public int hashCode() {
    return Objects.hash(text);
  }
}
