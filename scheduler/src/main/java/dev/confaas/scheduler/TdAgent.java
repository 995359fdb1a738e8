package dev.confaas.scheduler;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The agent operations the scheduler needs of one TD, in the scheduler's own terms (no wire
 * types): load a chain, start an instance, invoke it, stop it.
 */
interface TdAgent {

  /**
   * Loads the images of {@code chain} the TD does not hold yet, in order, and records each in the
   * TD's held images. Blocking: called on the instance starter's threads only.
   *
   * @return how many images the agent newly measured
   * @throws Refused when the agent refused one or did not answer
   */
  int loadChain(List<ImageFacts> chain) throws Refused;

  /**
   * Starts an instance of a loaded image that serves {@code deployment} (the function sees its
   * name, version and memory as Lambda's variables); returns its instance ID. Blocking, as above.
   */
  String start(String imageId, DeployedFunction deployment) throws Refused;

  /**
   * Hands one event to an instance. Completes with the function's outcome, or exceptionally with
   * {@link CallFailed} when the agent or the TD did not produce one.
   *
   * @param timeout the function's timeout for this call (the agent kills the instance past it)
   */
  CompletableFuture<Reply> invoke(String instanceId, InvocationRequest request, Duration timeout);

  /** Asks the instance to stop (SIGTERM); completes when the agent answered, either way. */
  CompletableFuture<Void> kill(String instanceId);

  /**
   * What the instance produced.
   *
   * @param requestId the request ID the function saw
   * @param payload the response; {@code null} exactly when {@code error} is set
   * @param error the function's (or its instance's) failure
   * @param instanceId the instance that ran it
   * @param duration as the agent measured it
   * @param receipt the receipt the TD signed; empty when it gave none
   * @param sealedResponse the encapsulated response of a sealed invocation, else {@code null}; on
   *     success {@code payload} is the same bytes
   */
  record Reply(
      String requestId,
      byte[] payload,
      FunctionError error,
      String instanceId,
      Duration duration,
      String receipt,
      byte[] sealedResponse) {

    Reply(String requestId, byte[] payload, FunctionError error, String instanceId, Duration duration) {
      this(requestId, payload, error, instanceId, duration, "", null);
    }
  }

  /** The agent refused a load or start, or did not answer; the message names the call and why. */
  final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** An invocation without an outcome from the function. */
  final class CallFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What that means for the instance and its TD. */
    enum Kind {
      /** The TD died or its transport failed: retire it. */
      TD_LOST,
      /**
       * The call's deadline (the function's timeout plus the grace) passed while the TD lives: the
       * agent is slow, not gone. The instance is given up (the agent kills it at its own deadline);
       * the TD is kept, and the caller told the function timed out.
       */
      TIMED_OUT,
      /** The agent refused the request itself; the instance is still warm. */
      REFUSED,
      /** The agent failed the call and lost track of the instance. */
      INSTANCE_GONE,
      /** The agent refused a sealed request (it does not open here); the instance is still warm. */
      SEALED_REFUSED
    }

    private final Kind kind;

    CallFailed(Kind kind, String message, Throwable cause) {
      super(message, cause);
      this.kind = kind;
    }

    Kind kind() {
      return kind;
    }
  }
}
