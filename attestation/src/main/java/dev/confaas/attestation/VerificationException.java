package dev.confaas.attestation;

/**
 * One failed check inside {@link QuoteVerifier}; turned into a failed {@link QuoteVerification}.
 */
final class VerificationException extends Exception {
  private static final long serialVersionUID = 1L;
  final QuoteCheck check;

  VerificationException(QuoteCheck check, String message) {
    super(message);
    this.check = check;
  }

  VerificationException(QuoteCheck check, String message, Throwable cause) {
    super(message, cause);
    this.check = check;
  }
}
