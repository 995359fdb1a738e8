package dev.confaas.scheduler;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where the scheduler gets attested TDs and gives them back: the one seam between dispatch and
 * placement on one side and the warm pool and the agent's wire protocol on the other, so those
 * decisions are tested against in-memory TDs. {@link WarmPoolTds} is the real one.
 */
interface TdSource {

  /**
   * A fresh attested TD, the caller's until {@link #release} or {@link #retire}. Never blocks; fails
   * with {@link dev.confaas.pool.PoolExhaustedException} when no TD can be had now.
   */
  CompletableFuture<LeasedTd> acquire();

  /**
   * The idle attested TD {@code tdId}, now the caller's as with {@link #acquire}; empty when the
   * source has no such TD idle (unknown, stopped, or in use by another holder). Never blocks.
   */
  java.util.Optional<LeasedTd> acquire(String tdId);

  /** Gives a TD back; the pool decides whether it can serve again (RTMR3 only grows). */
  void release(LeasedTd td);

  /** Stops a TD the holder found lost or broken, or must not use again. */
  void retire(LeasedTd td, String reason);

  /** How many images one TD may hold before the pool drains it. */
  int maxImagesPerTd();

  /** A TD held from the source. */
  interface LeasedTd {
    String id();

    /**
     * Images loaded into it, in load order, as the pool records them: the one record of what a TD
     * holds. Starts in flight are not in it; the scheduler adds their chains itself.
     */
    List<String> heldImages();

    /** False once its process or VM has exited. */
    boolean isAlive();

    /** False once it is draining, stopped or dead: place nothing new on it. */
    boolean acceptsWork();

    /** The operations of the agent inside it. */
    TdAgent agent();
  }
}
