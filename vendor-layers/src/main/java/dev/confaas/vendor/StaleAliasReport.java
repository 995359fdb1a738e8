package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which loaded images reference an alias whose target changed since they were loaded. RTMR3 is
 * append-only and a layer cannot be swapped under a running image, so the pool drains and recycles
 * the TDs holding these images.
 *
 * @param staleImages images with at least one changed alias, in the order they were given
 */
record StaleAliasReport(List<StaleImage> staleImages) {

  public StaleAliasReport {
    staleImages = List.copyOf(staleImages);
  }

  /**
   * A loaded image and the aliases of it that moved.
   *
   * @param imageId the loaded image
   * @param changes each alias whose resolution differs now
   */
  public record StaleImage(ImageId imageId, List<ChangedAlias> changes) {
    public StaleImage {
      changes = List.copyOf(changes);
    }
  }

  /**
   * One alias that now resolves differently.
   *
   * @param alias the reference in the image's {@code layers}
   * @param loaded the digest it resolved to when the image was loaded
   * @param current the digest it resolves to now; empty if it no longer resolves
   * @param why a sentence for logs: the new target, or why it does not resolve
   */
  public record ChangedAlias(AliasRef alias, Digest loaded, Optional<Digest> current, String why) {}

  /** True if no loaded image is stale. */
  public boolean isEmpty() {
    return staleImages.isEmpty();
  }

  /** The IDs of the stale images. */
  public Set<ImageId> imageIds() {
    return staleImages.stream().map(StaleImage::imageId).collect(Collectors.toUnmodifiableSet());
  }
}
