package dev.confaas.scheduler;

/**
 * A function ran but produced no response. Mirrors the agent's {@code FunctionError}.
 *
 * @param kind what went wrong
 * @param type the function's {@code errorType} for {@link Kind#HANDLED}, else a {@code Runtime.*} name
 * @param message human-readable detail
 * @param exitStatus 0..255 exit code, 128+N killed by signal N, -1 when not applicable
 * @param document the error document the function posted (a JSON object: {@code errorMessage},
 *     {@code errorType}, {@code stackTrace}, ...), as compact JSON; empty when it posted none
 */
public record FunctionError(
    Kind kind, String type, String message, int exitStatus, String document) {

  public FunctionError {
    document = document == null ? "" : document;
  }

  /** An error without a document of the function's own (crash, timeout, lost TD). */
  public FunctionError(Kind kind, String type, String message, int exitStatus) {
    this(kind, type, message, exitStatus, "");
  }

  /** Kinds of function failure; see the agent's contract ({@code agent.proto}). */
  public enum Kind {
    /** The function reported an error through the Runtime API; its instance stays warm. */
    HANDLED,
    /** The instance exited during the invocation and is gone (the agent never restarts it). */
    CRASHED,
    /** The function's timeout passed; the instance was killed and is gone. */
    TIMED_OUT,
    /** The instance failed to initialise. */
    INIT_FAILED,
    /** The response exceeded the size limit; the instance stays warm. */
    RESPONSE_TOO_LARGE,
    /** The TD running the invocation died or stopped answering mid-invocation. */
    TD_LOST
  }
}
