package dev.confaas.image;

import java.io.IOException;

/**
 * A layer tar that is malformed or hostile, or a blob whose digest is not what was promised. The
 * message names the tar entry (or digest) and the rule it broke.
 */
public final class LayerException extends IOException {
  private static final long serialVersionUID = 1L;

  public LayerException(String message) {
    super(message);
  }

  public LayerException(String message, Throwable cause) {
    super(message, cause);
  }
}
