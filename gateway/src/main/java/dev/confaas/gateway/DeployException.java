package dev.confaas.gateway;

/**
 * A deploy (or another management request) was refused because of what the caller sent. Carries
 * the problem's {@link Problem.Reason} (and so its HTTP status); the message says what was wrong
 * and what to do.
 */
public final class DeployException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Problem.Reason reason;

  public DeployException(Problem.Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public DeployException(Problem.Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** What failed, e.g. {@code BAD_SIGNATURE}, {@code INVALID_POLICY}, {@code MISSING_LAYER}. */
  public Problem.Reason reason() {
    return reason;
  }

  /** The HTTP status to answer with (a 4xx). */
  public int status() {
    return reason.status();
  }
}
