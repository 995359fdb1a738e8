package dev.confaas.runtime;

import java.util.Objects;

/**
 * Why an invocation produced no payload. Mirrors {@code FunctionError} in agent.proto.
 *
 * @param kind what went wrong
 * @param type the function's error type for {@link Kind#HANDLED}; otherwise a {@code Runtime.*} name
 * @param message human-readable reason
 * @param exitStatus 0..255 exit code, 128+N killed by signal N, -1 when the process has not ended
 * @param document the error document the function posted (a JSON object), else empty
 */
record FunctionFailure(
    Kind kind, String type, String message, int exitStatus, String document) {
  /** Kinds of failure, as agent.proto's {@code FunctionError.Kind}. */
  public enum Kind {
    /** The function posted to {@code invocation/{id}/error}; the instance stays warm. */
    HANDLED,
    /** The instance's process exited during the invocation. */
    CRASHED,
    /** The deadline passed; the instance was killed. */
    TIMED_OUT,
    /** The instance failed before asking for its first event. */
    INIT_FAILED,
    /** The posted response exceeded the response size limit. */
    RESPONSE_TOO_LARGE
  }

  public FunctionFailure {
    Objects.requireNonNull(kind, "kind");
    type = type == null ? "" : type;
    message = message == null ? "" : message;
    document = document == null ? "" : document;
  }

  /** A failure the agent describes itself: no document from the function. */
  public FunctionFailure(Kind kind, String type, String message, int exitStatus) {
    this(kind, type, message, exitStatus, "");
  }
}
