package dev.confaas.runtime;

import java.util.List;
import java.util.Optional;

/**
 * The functions this agent can start, by image ID. The image loader (AddManifest/AddBlob: verify,
 * resolve aliases, check policy, measure, merge layers) will be one implementation; {@link
 * PreparedFunctions} serves functions prepared as directories until then.
 */
interface LoadedFunctions {
  /** The function with this image ID, if loaded and complete (all layers present). */
  Optional<FunctionSpec> find(String imageId);

  /** Every loaded function, in load order. */
  List<FunctionSpec> loaded();

  /** Whether the TD is closed to new images (ACON Finalize). */
  boolean finalized();
}
