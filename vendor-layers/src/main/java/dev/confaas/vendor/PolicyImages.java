package dev.confaas.vendor;

import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.policy.InvalidPolicyException;
import dev.confaas.policy.PolicyImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a signed manifest into the facts launch policy needs ({@link PolicyImage}). The policy module
 * does not know manifests; the scheduler and the TD agent call this on what they load.
 */
public final class PolicyImages {
  private PolicyImages() {}

  /**
   * Verifies the signature, then takes the image ID, the self aliases ({@code aliases.self["."]}) and
   * {@code policy} from the manifest. Policy facts are never taken from an unverified manifest: a
   * forged {@code accepts} would let an attacker place images next to the victim.
   *
   * @throws ImageVerificationException if the signature does not verify
   * @throws InvalidPolicyException if the policy or a self alias is malformed; the message starts
   *     with the image ID and names the field
   */
  public static PolicyImage of(SignedManifest signed) throws ImageVerificationException {
    signed.verify();
    Manifest m = signed.manifest();
    List<String> self = new ArrayList<>();
    for (NameSvn alias : m.aliases().self()) {
      self.add(alias.toString());
    }
    try {
      return PolicyImage.of(
          signed.imageId().toString(), self, m.policy().accepts(), m.policy().rejectUnaccepted());
    } catch (InvalidPolicyException e) {
      throw new InvalidPolicyException("image " + signed.imageId() + ": " + e.getMessage());
    }
  }
}
