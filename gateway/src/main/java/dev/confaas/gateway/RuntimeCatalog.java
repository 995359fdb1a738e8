package dev.confaas.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The function runtimes the platform offers ({@code GET /v1/runtimes}): for each, the vendor
 * framework layer by alias reference ({@code signer/HASH/SIGNER/NAME:SVN}) and how to start it, so
 * {@code confaas deploy --runtime NAME} can build a function image that names that layer without
 * the author knowing the vendor's signer. The platform fills it when it publishes its framework
 * layers; while it is empty, {@code --runtime} fails with a message saying so.
 */
public final class RuntimeCatalog {
  private final Map<String, Runtime> runtimes = new ConcurrentHashMap<>();

  /**
   * One runtime.
   *
   * @param layer the framework layer's alias reference, {@code signer/HASH/SIGNER/NAME:SVN}
   * @param entrypoint the manifest {@code entrypoint} for functions on this runtime
   * @param env extra manifest {@code env} entries; the CLI adds {@code _HANDLER=...}
   */
  public record Runtime(String layer, List<String> entrypoint, List<String> env) {
    public Runtime {
      Objects.requireNonNull(layer, "layer");
      entrypoint = List.copyOf(entrypoint);
      env = List.copyOf(env);
    }
  }

  /** Offers (or replaces) runtime {@code name}, e.g. {@code shell} or {@code java}. */
  public void put(String name, Runtime runtime) {
    runtimes.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(runtime, "runtime"));
  }

  public Map<String, Runtime> all() {
    return new TreeMap<>(runtimes);
  }

  JsonObject toJson() {
    JsonObject o = new JsonObject();
    for (Map.Entry<String, Runtime> e : all().entrySet()) {
      o.put(e.getKey(), new JsonObject()
          .put("layer", e.getValue().layer())
          .put("entrypoint", new JsonArray(List.copyOf(e.getValue().entrypoint())))
          .put("env", new JsonArray(List.copyOf(e.getValue().env()))));
    }
    return o;
  }
}
