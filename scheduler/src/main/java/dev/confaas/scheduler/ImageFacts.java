package dev.confaas.scheduler;

import dev.confaas.image.SignedManifest;
import dev.confaas.policy.PolicyImage;

/**
 * A verified image from the repository with what placement and loading need of it.
 *
 * @param signed the manifest, signature and certificate to send with AddManifest
 * @param policy its policy facts (taken only from the verified manifest)
 * @param maxInstances the manifest's {@code maxInstances} per TD; 0 = unlimited
 */
record ImageFacts(SignedManifest signed, PolicyImage policy, long maxInstances) {

  static ImageFacts of(SignedManifest signed, PolicyImage policy) {
    return new ImageFacts(signed, policy, signed.manifest().maxInstances());
  }

  String imageId() {
    return policy.imageId();
  }
}
