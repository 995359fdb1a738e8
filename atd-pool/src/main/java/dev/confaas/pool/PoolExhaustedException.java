package dev.confaas.pool;

/**
 * {@link WarmPool#acquire()} could not hand out a TD: every TD the pool may run is in use, boots
 * failed, or the pool is closed. The message says which and what to change.
 */
public final class PoolExhaustedException extends Exception {
  private static final long serialVersionUID = 1L;

  public PoolExhaustedException(String message) {
    super(message);
  }

  public PoolExhaustedException(String message, Throwable cause) {
    super(message, cause);
  }
}
