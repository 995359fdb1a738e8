package dev.confaas.pool;

/** Where a TD is in its life in the {@link WarmPool}. */
public enum TdState {
  /** The backend is starting it. */
  BOOTING,
  /** Booted; its quote is being verified. No work may reach it yet. */
  ATTESTING,
  /** Attested and waiting in the pool. */
  IDLE,
  /** Handed out by {@link WarmPool#acquire()}; the holder places work on it. */
  ACTIVE,
  /** Takes no new work; stops once its holder releases it or the drain timeout passes. */
  DRAINING,
  /** Stopped (or died); shown until it is forgotten. */
  STOPPED
}
