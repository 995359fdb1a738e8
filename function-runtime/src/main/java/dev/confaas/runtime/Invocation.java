package dev.confaas.runtime;

import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One event for a function, with what the Lambda Runtime API shows the function about it.
 *
 * @param payload the event, passed unchanged as the body of {@code invocation/next}
 * @param timeout how long the function may run once it has the event
 * @param requestId shown as {@code Lambda-Runtime-Aws-Request-Id}
 * @param invokedFunctionArn shown as {@code Lambda-Runtime-Invoked-Function-Arn}; empty = derived
 * @param traceId shown as {@code Lambda-Runtime-Trace-Id} when not empty
 * @param clientContext shown as {@code Lambda-Runtime-Client-Context} when not empty
 * @param cognitoIdentity shown as {@code Lambda-Runtime-Cognito-Identity} when not empty
 */
record Invocation(
    byte[] payload,
    Duration timeout,
    String requestId,
    String invokedFunctionArn,
    String traceId,
    String clientContext,
    String cognitoIdentity) {
  /** Default function timeout, as Lambda's. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);
  /** Longest function timeout, as Lambda's. */
  public static final Duration MAX_TIMEOUT = Duration.ofMinutes(15);

  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9-]{1,64}");

  public Invocation {
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException(
          "timeout " + timeout.toMillis() + " ms is outside 1 ms.." + MAX_TIMEOUT.toMillis() + " ms");
    }
    if (!REQUEST_ID.matcher(requestId).matches()) {
      throw new IllegalArgumentException(
          "request ID \"" + requestId + "\" must be 1..64 ASCII letters, digits or '-'");
    }
    invokedFunctionArn = headerValue("invoked function ARN", invokedFunctionArn, 256);
    traceId = headerValue("trace ID", traceId, 256);
    clientContext = headerValue("client context", clientContext, 3583);
    cognitoIdentity = headerValue("Cognito identity", cognitoIdentity, 4096);
  }

  /** An event with a random request ID and nothing else set. */
  public static Invocation of(byte[] payload, Duration timeout) {
    return new Invocation(payload, timeout, UUID.randomUUID().toString(), "", "", "", "");
  }

  /** Returns a copy with the given request ID. */
  public Invocation withRequestId(String id) {
    return new Invocation(
        payload, timeout, id, invokedFunctionArn, traceId, clientContext, cognitoIdentity);
  }

  private static String headerValue(String what, String value, int max) {
    String v = value == null ? "" : value;
    if (v.length() > max) {
      throw new IllegalArgumentException(what + " is " + v.length() + " characters; at most " + max);
    }
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException(
            what + " has a non-printable or non-ASCII character at index " + i
                + "; HTTP header values must be printable ASCII");
      }
    }
    return v;
  }
}
