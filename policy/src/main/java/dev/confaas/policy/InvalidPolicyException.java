package dev.confaas.policy;

/**
 * A launch policy, an image alias or an image ID that does not follow the ACON syntax. The message
 * names the offending field and value and says what a valid one looks like, so it can be shown to the
 * author of the manifest as is.
 */
public final class InvalidPolicyException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidPolicyException(String message) {
    super(message);
  }
}
