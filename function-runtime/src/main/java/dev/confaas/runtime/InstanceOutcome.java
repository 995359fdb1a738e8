package dev.confaas.runtime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What came of an invocation: the function's response payload, or why there is none.
 *
 * @param requestId the request ID the function saw
 * @param instanceId the instance that handled it (empty if none was reached)
 * @param payload the response body when {@code failure} is null, else null
 * @param failure why there is no payload, else null
 * @param duration from handing the event to the instance until the outcome (agent clock)
 */
record InstanceOutcome(
    String requestId, String instanceId, byte[] payload, FunctionFailure failure, Duration duration) {
  public InstanceOutcome {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(duration, "duration");
    if ((payload == null) == (failure == null)) {
      throw new IllegalArgumentException("exactly one of payload and failure must be set");
    }
  }

  /** True when the function returned a payload. */
  public boolean succeeded() {
    return failure == null;
  }

  /** The failure, if any. */
  public Optional<FunctionFailure> error() {
    return Optional.ofNullable(failure);
  }
}
