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
 * @param receipt the receipt the TD signed for this invocation (compact JWS, docs/receipts.md),
 *     passed on unchanged; empty when the TD gave none (it was lost, or the agent refused the call)
 * @param sealedResponse for a sealed invocation, the encapsulated response the TD sealed to the
 *     caller (of the response, or of the function's error), which the host cannot open; on success
 *     {@code payload} is the same bytes. {@code null} for a plain invocation
 */
public record InvocationResult(
    String requestId,
    byte[] payload,
    FunctionError error,
    String tdId,
    String imageId,
    String instanceId,
    Duration duration,
    String receipt,
    byte[] sealedResponse) {

  public InvocationResult {
    Objects.requireNonNull(requestId, "requestId");
    receipt = receipt == null ? "" : receipt;
    if ((payload == null) == (error == null)) {
      throw new IllegalArgumentException("exactly one of payload and error must be set");
    }
  }

  /** A result without a receipt, of a plain invocation (tests, stand-ins for the scheduler). */
  public InvocationResult(
      String requestId,
      byte[] payload,
      FunctionError error,
      String tdId,
      String imageId,
      String instanceId,
      Duration duration) {
    this(requestId, payload, error, tdId, imageId, instanceId, duration, "", null);
  }

  /** Whether the TD signed a receipt for it. */
  public boolean hasReceipt() {
    return !receipt.isEmpty();
  }

  /** Whether it was a sealed invocation (the response is {@link #sealedResponse}). */
  public boolean sealed() {
    return sealedResponse != null;
  }

  public boolean succeeded() {
    return error == null;
  }
}
