package dev.confaas.gateway;

import io.vertx.core.json.JsonArray;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The TDs as the gateway shows them: {@code GET /v1/tds} (one JSON object per TD the pool holds),
 * and the evidence routes a caller verifies a TD with before it seals an event to it or checks a
 * receipt ({@code GET /v1/tds/{id}/evidence}, {@code GET /v1/functions/{name}/evidence};
 * docs/receipts.md §4). The platform implements it over the warm pool and the scheduler; {@link
 * #NONE} has no TDs.
 *
 * <p>{@link #list} and {@link #evidence} are called on a worker thread, so they may take a lock or
 * read a snapshot; they must not wait on a TD.
 */
@FunctionalInterface
public interface TdDirectory {

  /** A directory with no TDs. */
  TdDirectory NONE = JsonArray::new;

  /** A fresh array the gateway may serialize; never {@code null}. */
  JsonArray list();

  /**
   * The evidence of TD {@code tdId}'s latest attestation, as the JSON document of docs/receipts.md
   * §4 (agent-api {@code TdEvidence}); empty when no TD by that ID is in service. Holds nothing
   * secret.
   */
  default Optional<byte[]> evidence(String tdId) {
    return Optional.empty();
  }

  /**
   * The TDs where the deployment of {@code function} with image {@code imageId} has a warm instance,
   * i.e. where an event sealed to that TD is served without a new load.
   */
  default List<String> warmTds(String function, String imageId) {
    return List.of();
  }

  /**
   * Starts an instance of the function when none is warm; completes once one is. Fails with the
   * scheduler's {@code InvocationRejectedException} when it cannot.
   */
  default CompletableFuture<Void> prepare(String function, String version) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException("this gateway cannot prepare instances"));
  }
}
