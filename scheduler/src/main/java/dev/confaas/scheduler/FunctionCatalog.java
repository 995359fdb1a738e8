package dev.confaas.scheduler;

import java.util.Optional;

/**
 * Where the scheduler learns what a function name means. The gateway's function registry (deploys,
 * versions, aliases) implements it; the scheduler only reads.
 */
public interface FunctionCatalog {

  /**
   * The deployment a name and version (number or alias; {@code null} = {@code latest}) refer to now,
   * or empty when there is none.
   */
  Optional<DeployedFunction> resolve(String name, String version);
}
