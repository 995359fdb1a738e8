package dev.confaas.pool;

/**
 * A TD did not boot, or a backend cannot boot TDs here; the message says why (process exit status,
 * boot timeout, missing artifact, a QEMU without TDX).
 */
public final class TdLaunchException extends Exception {
  private static final long serialVersionUID = 1L;

  public TdLaunchException(String message) {
    super(message);
  }

  public TdLaunchException(String message, Throwable cause) {
    super(message, cause);
  }
}
