package dev.confaas.gateway;

import io.vertx.core.json.JsonArray;

/**
 * What {@code GET /v1/tds} shows: one JSON object per TD the pool holds (its ID, state, backend,
 * loaded images, and where to fetch its attestation evidence). The warm pool implements it; until
 * then {@link #NONE} answers {@code []}.
 *
 * <p>Called on a worker thread, so it may take a lock or read a snapshot; it must not wait on a TD.
 */
@FunctionalInterface
public interface TdDirectory {

  /** A directory with no TDs. */
  TdDirectory NONE = JsonArray::new;

  /** A fresh array the gateway may serialize; never {@code null}. */
  JsonArray list();
}
