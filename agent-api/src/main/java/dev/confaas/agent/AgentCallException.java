package dev.confaas.agent;

import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A call to a TD's agent that did not succeed, classified once for the whole host: what a caller
 * should do depends on {@link #kind()}, the wording on {@link #describe()}. Every future {@link
 * AgentClient} returns fails with this exception.
 */
public final class AgentCallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What a failed call means for the TD and the request. */
  public enum Kind {
    /**
     * The call may not have reached the agent, or its answer did not come back (UNAVAILABLE,
     * CANCELLED, UNKNOWN, DEADLINE_EXCEEDED): the TD may be gone; whether the call took effect is
     * unknown.
     */
    TRANSPORT_LOST,
    /**
     * The agent checked the request and said no (INVALID_ARGUMENT, FAILED_PRECONDITION,
     * PERMISSION_DENIED, UNAUTHENTICATED, ALREADY_EXISTS, OUT_OF_RANGE); nothing changed, the TD is
     * fine.
     */
    REFUSED,
    /** A limit was reached (RESOURCE_EXHAUSTED: maxInstances, message size); may succeed later. */
    BUSY,
    /** The image, instance or blob named is not known to the agent (NOT_FOUND). */
    NOT_FOUND,
    /** This build of the agent does not offer the operation (UNIMPLEMENTED). */
    UNSUPPORTED,
    /** The agent failed on its own (INTERNAL, DATA_LOSS, ABORTED). */
    INTERNAL
  }

  private final String call;
  private final Kind kind;
  private final Status.Code code;
  private final String description;

  private AgentCallException(String call, Status status, Throwable cause) {
    super(call + " failed: " + describe(status.getCode(), status.getDescription()), cause);
    this.call = call;
    this.code = status.getCode();
    this.kind = kindOf(code);
    this.description = status.getDescription() == null ? "" : status.getDescription();
  }

  /** The failure of RPC {@code call} (e.g. "Invoke"), classified from its gRPC status. */
  static AgentCallException of(String call, Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof AgentCallException e) {
      return e;
    }
    return new AgentCallException(call, Status.fromThrowable(t), t);
  }

  /**
   * The {@code AgentCallException} a future of {@link AgentClient} failed with, unwrapping the
   * {@link CompletionException} of a dependent stage. Anything else (which {@link AgentClient} never
   * produces) counts as a lost transport of an unnamed call.
   */
  public static AgentCallException from(Throwable failure) {
    return of("agent call", failure);
  }

  private static Throwable unwrap(Throwable t) {
    Throwable c = Objects.requireNonNull(t, "failure");
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  static Kind kindOf(Status.Code code) {
    return switch (code) {
      case UNAVAILABLE, CANCELLED, UNKNOWN, DEADLINE_EXCEEDED -> Kind.TRANSPORT_LOST;
      case INVALID_ARGUMENT,
          FAILED_PRECONDITION,
          PERMISSION_DENIED,
          UNAUTHENTICATED,
          ALREADY_EXISTS,
          OUT_OF_RANGE -> Kind.REFUSED;
      case RESOURCE_EXHAUSTED -> Kind.BUSY;
      case NOT_FOUND -> Kind.NOT_FOUND;
      case UNIMPLEMENTED -> Kind.UNSUPPORTED;
      case INTERNAL, DATA_LOSS, ABORTED, OK -> Kind.INTERNAL;
    };
  }

  private static String describe(Status.Code code, String description) {
    return description == null || description.isEmpty() ? code.name() : code + ": " + description;
  }

  /** The RPC that failed, e.g. {@code Invoke}. */
  public String call() {
    return call;
  }

  public Kind kind() {
    return kind;
  }

  /** The gRPC status code, for callers that must tell apart codes of one kind. */
  public Status.Code code() {
    return code;
  }

  /** The agent's (or the transport's) description; empty when there was none. */
  public String description() {
    return description;
  }

  /** {@code CODE: description}, e.g. {@code FAILED_PRECONDITION: policy: image X does not accept Y}. */
  public String describe() {
    return describe(code, description);
  }
}
