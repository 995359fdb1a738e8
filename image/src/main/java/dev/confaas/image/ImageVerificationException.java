package dev.confaas.image;

import java.security.GeneralSecurityException;

/**
 * A signed image that must not be trusted. The message says which check failed: malformed
 * certificate, certificate hash weaker than SHA-256, unsupported key type or curve, key and hash
 * that do not go together, malformed signature, or a signature that does not verify.
 */
public final class ImageVerificationException extends GeneralSecurityException {
  private static final long serialVersionUID = 1L;

  public ImageVerificationException(String message) {
    super(message);
  }

  public ImageVerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
