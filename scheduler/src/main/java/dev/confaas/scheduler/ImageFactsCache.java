package dev.confaas.scheduler;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageRepository;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.SignedManifest;
import dev.confaas.vendor.PolicyImages;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Verified images by image ID, read from the repository once and kept in a bounded cache: a load
 * chain is read for every instance start, and the images a TD holds are read for every placement.
 * Reads block (disk, signature checks), so only the instance starter's threads call it.
 */
final class ImageFactsCache {
  private final LoadingCache<String, ImageFacts> cache;

  /**
   * @param read the image by ID; throws {@link IllegalStateException} with a message for the
   *     caller when it is missing or unreadable
   * @param maxImages images kept; the least used beyond that are read again when needed
   */
  ImageFactsCache(Function<String, ImageFacts> read, long maxImages) {
    // Eviction on the calling thread: no background pool, and the bound holds when a read returns.
    this.cache = Caffeine.newBuilder().maximumSize(maxImages).executor(Runnable::run).build(read::apply);
  }

  static ImageFactsCache over(ImageRepository repository, long maxImages) {
    return new ImageFactsCache(id -> read(repository, id), maxImages);
  }

  ImageFacts get(String imageId) {
    return cache.get(imageId);
  }

  /** The function's load chain: its dependencies, then its own image. */
  List<ImageFacts> chain(DeployedFunction d) {
    List<String> ids = new ArrayList<>(d.dependencies());
    ids.add(d.imageId());
    List<ImageFacts> out = new ArrayList<>();
    for (String id : ids) {
      try {
        out.add(get(id));
      } catch (IllegalStateException e) {
        throw new IllegalStateException("image of function \"" + d.name() + "\": " + e.getMessage(), e);
      }
    }
    return List.copyOf(out);
  }

  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  private static ImageFacts read(ImageRepository repository, String id) {
    try {
      SignedManifest signed =
          repository
              .getImage(ImageId.parse(id))
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          id + " is not in the image repository; deploy the function again"));
      return ImageFacts.of(signed, PolicyImages.of(signed));
    } catch (IOException | ImageVerificationException e) {
      throw new IllegalStateException(id + " cannot be read: " + e.getMessage(), e);
    }
  }
}
