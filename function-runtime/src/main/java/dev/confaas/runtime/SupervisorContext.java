package dev.confaas.runtime;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;

/** What instances and pools share: time, threads, the launcher and the log fan-out. */
interface SupervisorContext {
  Clock clock();

  Path stateDir();

  int maxResponseBytes();

  IsolationReport isolation();

  InstanceLauncher launcher();

  Optional<NetNamespace> netns();

  /** Blocking work: process starts, event delivery. */
  ExecutorService workers();

  /** The event loop every instance's Runtime API endpoint is served on. */
  io.netty.channel.EventLoopGroup runtimeApiLoop();

  /** Deadlines and init timeouts. */
  ScheduledExecutorService scheduler();

  /** Makes threads that are guaranteed to be in the agent's own network namespace. */
  ThreadFactory threadFactory();

  /**
   * Passes a line from a declared logFD on to whoever streams logs; never blocks.
   *
   * @param requestId the request the instance was last handed; empty during its init
   */
  void publishLog(
      String instanceId, String imageId, InstanceSettings settings, String requestId, int fd, byte[] line);
}
