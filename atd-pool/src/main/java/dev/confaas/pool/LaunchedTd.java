package dev.confaas.pool;

/** A booted, not yet attested TD: where its agent listens, and how to stop it. */
public interface LaunchedTd extends AutoCloseable {

  String id();

  String backend();

  /** The agent's gRPC address as {@code host:port} (loopback for the process backend). */
  String agentTarget();

  /** False once the TD (its agent process or VM) has exited. */
  boolean isAlive();

  /** Stops the TD and everything running in it; idempotent. */
  @Override
  void close();
}
