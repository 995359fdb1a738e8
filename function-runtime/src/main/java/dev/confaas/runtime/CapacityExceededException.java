package dev.confaas.runtime;

/** An image already runs its maxInstances instances, or too many invocations wait for one. */
final class CapacityExceededException extends IllegalStateException {
  CapacityExceededException(String message) {
    super(message);
  }
}
