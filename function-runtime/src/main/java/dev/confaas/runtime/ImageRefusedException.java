package dev.confaas.runtime;

/** An image, blob or Finalize the agent refuses, with the check that failed. */
final class ImageRefusedException extends Exception {
  /** Which kind of check failed; decides the gRPC status the host sees. */
  public enum Reason {
    /** Malformed manifest, certificate or request (INVALID_ARGUMENT). */
    MALFORMED,
    /** The blob's bytes do not hash to its digest (INVALID_ARGUMENT). */
    DIGEST_MISMATCH,
    /** The signature does not verify against the certificate (PERMISSION_DENIED). */
    BAD_SIGNATURE,
    /** Launch policies of this image and those loaded do not accept each other (FAILED_PRECONDITION). */
    POLICY_CONFLICT,
    /** The TD was finalized (FAILED_PRECONDITION). */
    FINALIZED,
    /** No loaded manifest references the blob (FAILED_PRECONDITION). */
    NOT_REFERENCED,
    /**
     * A {@code layers} entry names a vendor alias that no manifest loaded into this TD defines
     * (FAILED_PRECONDITION).
     */
    UNRESOLVED_LAYER
  }

  private final Reason reason;

  public ImageRefusedException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
