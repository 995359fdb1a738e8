package dev.confaas.runtime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Functions the agent's operator prepared as directories (no signed image): for development, the
 * tests, and until the image loader lands. Not reachable through the gRPC API, so the untrusted
 * host cannot add to it.
 */
final class PreparedFunctions implements LoadedFunctions {
  private final Map<String, FunctionSpec> specs = new LinkedHashMap<>();

  /**
   * Adds a function under its {@link FunctionSpec#imageId()}.
   *
   * @throws IllegalArgumentException when that ID is already taken
   */
  public synchronized PreparedFunctions add(FunctionSpec spec) {
    if (specs.putIfAbsent(spec.imageId(), spec) != null) {
      throw new IllegalArgumentException("a function with image ID " + spec.imageId() + " is already prepared");
    }
    return this;
  }

  @Override
  public synchronized Optional<FunctionSpec> find(String imageId) {
    return Optional.ofNullable(specs.get(imageId));
  }

  @Override
  public synchronized List<FunctionSpec> loaded() {
    return new ArrayList<>(specs.values());
  }

  @Override
  public boolean finalized() {
    return false;
  }
}
