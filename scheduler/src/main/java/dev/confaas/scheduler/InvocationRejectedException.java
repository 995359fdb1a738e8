package dev.confaas.scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * The platform did not run the invocation. The message says why in words a caller understands;
 * {@link #reason()} lets the gateway pick the HTTP status and a Kafka trigger decide to pause,
 * retry or dead-letter.
 */
public final class InvocationRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why an invocation was not run. */
  public enum Reason {
    /** No function (or version) by that name: HTTP 404. */
    NOT_FOUND,
    /** The function's instances and queue are full: HTTP 429 with Retry-After; triggers pause. */
    OVERLOADED,
    /** The deadline passed before an instance was free: HTTP 504. */
    DEADLINE_EXCEEDED,
    /** No attested TD could take it (pool empty, load failed, policy allows no placement): 503. */
    UNAVAILABLE,
    /** The platform is shutting down: HTTP 503. */
    SHUTTING_DOWN,
    /**
     * The TD the invocation must run in (a sealed one's) is gone or not in service: HTTP 410. The
     * caller fetches fresh evidence and seals again.
     */
    TD_GONE,
    /**
     * The TD the invocation must run in cannot take the function: launch policies refuse to share
     * it, or it is full: HTTP 409.
     */
    TD_REFUSES_FUNCTION,
    /**
     * The TD's agent refused a sealed request: sealed for another function, TD or key, or altered:
     * HTTP 403. The host cannot tell which: only the caller and the TD can open it.
     */
    SEALED_REQUEST_REFUSED
  }

  private final Reason reason;
  private final Duration retryAfter;

  public InvocationRejectedException(Reason reason, String message, Duration retryAfter) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.retryAfter = retryAfter == null ? Duration.ZERO : retryAfter;
  }

  public InvocationRejectedException(Reason reason, String message) {
    this(reason, message, Duration.ZERO);
  }

  public Reason reason() {
    return reason;
  }

  /** How long a caller should wait before trying again; zero when there is no useful hint. */
  public Duration retryAfter() {
    return retryAfter;
  }
}
