package dev.confaas.scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * What happened when a function ran: its response, or the error it (or its instance) produced, and
 * where it ran, so a caller can fetch that TD's attestation evidence.
 *
 * @param requestId the request ID the function saw
 * @param payload the function's response body; {@code null} exactly when {@code error} is set
 * @param error why there is no payload; {@code null} on success
 * @param tdId the TD that ran it
 * @param imageId the ACON image ID of the function image that ran ({@code sha384/SIGNER/MANIFEST})
 * @param instanceId the function instance inside that TD
 * @param duration time from handing the event to the instance until the outcome
 */
public record InvocationResult(
    String requestId,
    byte[] payload,
    FunctionError error,
    String tdId,
    String imageId,
    String instanceId,
    Duration duration) {

  public InvocationResult {
    Objects.requireNonNull(requestId, "requestId");
    if ((payload == null) == (error == null)) {
      throw new IllegalArgumentException("exactly one of payload and error must be set");
    }
  }

  public boolean succeeded() {
    return error == null;
  }
}
