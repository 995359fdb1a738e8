package dev.confaas.scheduler;

import java.time.Instant;
import java.util.Objects;

/**
 * One event for one function.
 *
 * @param function the deployed function's name
 * @param version a version number or alias (e.g. {@code latest}); {@code null} means {@code latest}
 * @param payload the event, passed unchanged to the function (at most the platform's body limit)
 * @param deadline when the caller stops waiting: time in the queue counts against it, and the
 *     function's own timeout is capped by what is left of it
 * @param requestId shown to the function as {@code Lambda-Runtime-Aws-Request-Id}; unique per
 *     invocation (a Kafka retry of the same record gets a new one)
 * @param traceId shown as {@code Lambda-Runtime-Trace-Id}; may be empty
 * @param clientContext shown as {@code Lambda-Runtime-Client-Context}: the caller's client context
 *     as JSON on one line (Lambda's Invoke API takes it base64-encoded); may be empty
 * @param cognitoIdentity shown as {@code Lambda-Runtime-Cognito-Identity}; may be empty
 * @param targetTd the TD it must run in, or {@code null} for anywhere: a sealed event opens only in
 *     the TD it was sealed to, so the scheduler uses (or starts) an instance there or refuses it
 * @param sealedRequest the caller's encapsulated request (docs/sealed-invocations.md) instead of a
 *     plain event, or {@code null}; then {@code payload} is empty and {@code targetTd} is set. The
 *     host relays it without being able to open it
 */
public record InvocationRequest(
    String function,
    String version,
    byte[] payload,
    Instant deadline,
    String requestId,
    String traceId,
    String clientContext,
    String cognitoIdentity,
    String targetTd,
    byte[] sealedRequest) {

  public InvocationRequest {
    Objects.requireNonNull(function, "function");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(requestId, "requestId");
    traceId = traceId == null ? "" : traceId;
    clientContext = clientContext == null ? "" : clientContext;
    cognitoIdentity = cognitoIdentity == null ? "" : cognitoIdentity;
    if (sealedRequest != null && (payload.length != 0 || targetTd == null)) {
      throw new IllegalArgumentException(
          "a sealed invocation carries its event only sealed and names the TD it was sealed to");
    }
  }

  /** A plain invocation that may run anywhere. */
  public InvocationRequest(
      String function,
      String version,
      byte[] payload,
      Instant deadline,
      String requestId,
      String traceId,
      String clientContext,
      String cognitoIdentity) {
    this(function, version, payload, deadline, requestId, traceId, clientContext, cognitoIdentity, null, null);
  }

  /**
   * A sealed invocation: {@code sealedRequest} (docs/sealed-invocations.md) for the function, to run
   * in TD {@code targetTd}, the only one that can open it.
   */
  public static InvocationRequest sealed(
      String function, String version, byte[] sealedRequest, String targetTd, Instant deadline,
      String requestId, String traceId) {
    return new InvocationRequest(function, version, new byte[0], deadline, requestId, traceId, "", "",
        Objects.requireNonNull(targetTd, "targetTd"), Objects.requireNonNull(sealedRequest, "sealedRequest"));
  }

  public boolean isSealed() {
    return sealedRequest != null;
  }

  /** Shows neither the event nor the sealed request: a request may be logged, its bytes must not be. */
  @Override
  public String toString() {
    return "InvocationRequest[" + function + (version == null ? "" : "@" + version) + ", request "
        + requestId + (targetTd == null ? "" : ", in TD " + targetTd)
        + (sealedRequest == null ? ", " + payload.length + " bytes" : ", sealed " + sealedRequest.length + " bytes")
        + "]";
  }

  /** An invocation without client context or Cognito identity (Kafka, async, most callers). */
  public InvocationRequest(
      String function, String version, byte[] payload, Instant deadline, String requestId, String traceId) {
    this(function, version, payload, deadline, requestId, traceId, "", "");
  }
}
