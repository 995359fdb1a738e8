package dev.confaas.runtime;

/**
 * A snapshot of one function instance. Mirrors {@code InstanceInfo} in agent.proto.
 *
 * @param instanceId agent-unique ID
 * @param imageId the image (function) it runs
 * @param state where it is in its life
 * @param exitStatus for {@link State#EXITED}: exit code, or 128+N when killed by signal N; else -1
 * @param invocations invocations it finished, with any outcome
 * @param currentRequestId the request in progress when {@link State#BUSY}, else empty
 */
record InstanceStatus(
    String instanceId, String imageId, State state, int exitStatus, long invocations, String currentRequestId) {
  /** Life of an instance. */
  public enum State {
    /** Started; has not yet called {@code invocation/next}. */
    STARTING,
    /** Waiting for an event. */
    IDLE,
    /** Handling one. */
    BUSY,
    /** Its process has ended. */
    EXITED
  }
}
