package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import java.util.Map;

/**
 * An image loaded into a TD, with the alias bindings used when it was loaded: what the pool keeps per
 * TD so it can ask {@link AliasResolver#staleImages} after a vendor update.
 *
 * @param imageId the loaded image
 * @param aliasBindings each alias entry of its {@code layers} and the digest it resolved to then
 */
record LoadedImage(ImageId imageId, Map<AliasRef, Digest> aliasBindings) {

  public LoadedImage {
    aliasBindings = Map.copyOf(aliasBindings);
  }

  /** The record for an image loaded with {@code resolution}. */
  public static LoadedImage of(ImageId imageId, LayerResolution resolution) {
    return new LoadedImage(imageId, resolution.aliasBindings());
  }
}
