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
 */
public record InvocationRequest(
    String function,
    String version,
    byte[] payload,
    Instant deadline,
    String requestId,
    String traceId,
    String clientContext,
    String cognitoIdentity) {

  public InvocationRequest {
    Objects.requireNonNull(function, "function");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(requestId, "requestId");
    traceId = traceId == null ? "" : traceId;
    clientContext = clientContext == null ? "" : clientContext;
    cognitoIdentity = cognitoIdentity == null ? "" : cognitoIdentity;
  }

  /** An invocation without client context or Cognito identity (Kafka, async, most callers). */
  public InvocationRequest(
      String function, String version, byte[] payload, Instant deadline, String requestId, String traceId) {
    this(function, version, payload, deadline, requestId, traceId, "", "");
  }
}
