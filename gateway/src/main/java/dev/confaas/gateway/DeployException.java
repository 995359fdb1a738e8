package dev.confaas.gateway;

/**
 * A deploy (or another management request) was refused because of what the caller sent. Carries the
 * HTTP status and a short machine-readable code; the message says what was wrong and what to do.
 */
public final class DeployException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;

  public DeployException(int status, String code, String message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  public DeployException(int status, String code, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
  }

  /** The HTTP status to answer with (a 4xx). */
  public int status() {
    return status;
  }

  /**
   * What failed, e.g. {@code signature}, {@code policy}, {@code alias}, {@code blob}, {@code
   * digest}.
   */
  public String code() {
    return code;
  }
}
