package dev.confaas.scheduler;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A deployed function version: everything the scheduler needs to load it into a TD and run it.
 * Manifests, signatures and certificates are stored in the platform's image repository; layers are
 * read from there by digest.
 *
 * @param name function name
 * @param version version number (1, 2, ...)
 * @param imageId the function image's ACON image ID
 * @param dependencies image IDs that must be loaded into the TD before the function image, in load
 *     order (the vendor framework image whose {@code aliases.contents} the function's layers name)
 * @param concurrency at most this many invocations of this function in flight platform-wide
 * @param timeout the function's own timeout per invocation
 * @param memoryMb shown to the function as {@code AWS_LAMBDA_FUNCTION_MEMORY_SIZE}; a limit where the
 *     TD can enforce one
 */
public record DeployedFunction(
    String name,
    int version,
    String imageId,
    List<String> dependencies,
    int concurrency,
    Duration timeout,
    int memoryMb) {

  public DeployedFunction {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(imageId, "imageId");
    dependencies = List.copyOf(dependencies);
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency must be at least 1, was " + concurrency);
    }
    Objects.requireNonNull(timeout, "timeout");
  }
}
