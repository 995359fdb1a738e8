package dev.confaas.pool;

/** A TD failed attestation; the message names every check that failed. */
final class TdAttestationException extends Exception {
  private static final long serialVersionUID = 1L;

  public TdAttestationException(String message) {
    super(message);
  }

  public TdAttestationException(String message, Throwable cause) {
    super(message, cause);
  }
}
