package dev.confaas.image;

/**
 * A manifest that is not valid JSON or breaks the ACON manifest rules. The message starts with the
 * field at fault, e.g. {@code layers[2]: "sha1/ab" is not a layer reference: ...}.
 */
public final class ManifestException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public ManifestException(String message) {
    super(message);
  }

  public ManifestException(String message, Throwable cause) {
    super(message, cause);
  }
}
