package dev.confaas.scheduler;

import dev.confaas.image.SignedManifest;
import dev.confaas.policy.PolicyImage;

/**
 * A verified image from the repository with what placement needs of it.
 *
 * @param signed the manifest, signature and certificate to send with AddManifest
 * @param policy its policy facts (taken only from the verified manifest)
 */
record ImageFacts(SignedManifest signed, PolicyImage policy) {
  String imageId() {
    return policy.imageId();
  }

  /** The manifest's {@code maxInstances}; 0 = unlimited. */
  long maxInstances() {
    return signed.manifest().maxInstances();
  }
}
