package dev.confaas.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * What launch policy needs to know about one image: its image ID {@code HASH/SIGNER/MANIFEST} in
 * parts, its self aliases ({@code aliases.self["."]}) and its launch policy. The vendor-layers module
 * builds these from verified signed manifests ({@code PolicyImages.of}); the policy module itself never
 * parses manifests.
 *
 * @param hash hash algorithm of the image ID, e.g. {@code sha384}
 * @param signer signer digest, lowercase hex
 * @param manifest manifest digest, lowercase hex
 * @param selfAliases the image's own {@code NAME:SVN} aliases
 * @param policy the image's launch policy
 */
public record PolicyImage(
    String hash, String signer, String manifest, List<ImageAlias> selfAliases, LaunchPolicy policy) {

  public PolicyImage {
    if (hash == null || !AconHashNames.isKnownHash(hash)) {
      throw new InvalidPolicyException(
          "image ID has HASH '" + hash + "'; use one of " + AconHashNames.knownHashes());
    }
    String problem = signer == null ? "is missing" : AconHashNames.digestProblem(hash, signer);
    if (problem != null) {
      throw new InvalidPolicyException("image ID's SIGNER " + problem);
    }
    problem = manifest == null ? "is missing" : AconHashNames.digestProblem(hash, manifest);
    if (problem != null) {
      throw new InvalidPolicyException("image ID's MANIFEST " + problem);
    }
    selfAliases = List.copyOf(selfAliases);
    if (policy == null) {
      policy = LaunchPolicy.NONE;
    }
  }

  /**
   * Builds the policy facts of an image from the strings found in its ID and manifest.
   *
   * @param imageId {@code HASH/SIGNER/MANIFEST}
   * @param selfAliases the strings of {@code aliases.self["."]}
   * @param accepts the strings of {@code policy.accepts}
   * @param rejectUnaccepted {@code policy.rejectUnaccepted}
   * @throws InvalidPolicyException naming the field (e.g. {@code aliases.self["."][1]} or {@code
   *     policy.accepts[0]}) and what is wrong
   */
  public static PolicyImage of(
      String imageId, List<String> selfAliases, List<String> accepts, boolean rejectUnaccepted) {
    String[] parts = imageId.split("/", -1);
    if (parts.length != 3) {
      throw new InvalidPolicyException(
          "image ID '" + imageId + "' is not HASH/SIGNER/MANIFEST");
    }
    List<ImageAlias> aliases = new ArrayList<>(selfAliases.size());
    for (int i = 0; i < selfAliases.size(); i++) {
      try {
        aliases.add(ImageAlias.parse(selfAliases.get(i)));
      } catch (InvalidPolicyException e) {
        throw new InvalidPolicyException("aliases.self[\".\"][" + i + "]: " + e.getMessage());
      }
    }
    return new PolicyImage(
        parts[0], parts[1], parts[2], aliases, LaunchPolicy.parse(accepts, rejectUnaccepted));
  }

  /** {@code HASH/SIGNER/MANIFEST}, the ACON image ID. */
  public String imageId() {
    return hash + "/" + signer + "/" + manifest;
  }

  /** The image ID followed by its self aliases, for messages. */
  public String describe() {
    return selfAliases.isEmpty() ? imageId() : imageId() + " " + selfAliases;
  }
}
