package dev.confaas.gateway;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;

/**
 * How many HTTP connections the gateway holds open, and how long a new one may stay silent. Every
 * open connection costs a file descriptor, and the process shares its descriptor limit with the
 * embedded Kafka broker (segments, indexes, sockets) and the warm pool (a TD's process, pipes and
 * gRPC channel): when idle connections took them all, the broker failed its log directories and the
 * platform died. So connections get a budget below the limit, and the rest stays reserved.
 *
 * @param maxConnections connections open at once, from all clients; over it a new connection is
 *     closed at once
 * @param maxConnectionsPerClient connections one client address may hold open at once
 * @param requestHeaderTimeout how long a new connection may take to deliver its first request's
 *     headers before it is closed (a client that connects and sends nothing, or dribbles)
 */
public record ConnectionLimits(
    int maxConnections, int maxConnectionsPerClient, Duration requestHeaderTimeout) {

  /** Default of {@code gateway.maxConnectionsPerClient}. */
  public static final int DEFAULT_PER_CLIENT = 512;
  /** Default of {@code gateway.requestHeaderTimeout}. */
  public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
  /** Descriptors kept for the broker, the pool and the JVM whatever the limit (when it allows). */
  static final int MIN_RESERVE = 2048;
  /** The derived default never goes above this: memory, not descriptors, is then the bound. */
  static final int DERIVED_CEILING = 16_384;
  /** Nor below this, even on a tiny descriptor limit. */
  static final int DERIVED_FLOOR = 32;

  public ConnectionLimits {
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1, was " + maxConnections);
    }
    if (maxConnectionsPerClient < 1) {
      throw new IllegalArgumentException(
          "maxConnectionsPerClient must be at least 1, was " + maxConnectionsPerClient);
    }
    if (requestHeaderTimeout.isNegative() || requestHeaderTimeout.isZero()) {
      throw new IllegalArgumentException(
          "requestHeaderTimeout must be positive, was " + requestHeaderTimeout);
    }
  }

  /** {@code maxConnections} 0 = {@link #derivedMaxConnections(long)} of this process's limit. */
  static ConnectionLimits of(int maxConnections, int perClient, Duration headerTimeout) {
    return new ConnectionLimits(
        maxConnections == 0 ? derivedMaxConnections(descriptorLimit()) : maxConnections,
        perClient, headerTimeout);
  }

  /**
   * The connection budget for a process whose descriptor limit is {@code fdLimit}: a quarter of the
   * limit (at least {@value #MIN_RESERVE} when the limit leaves room) stays for everything else,
   * the rest may be connections, between {@value #DERIVED_FLOOR} and {@value #DERIVED_CEILING}.
   * With the common limit of 20,000 that is 15,000 connections and 5,000 descriptors reserved.
   */
  public static int derivedMaxConnections(long fdLimit) {
    long reserve = Math.max(fdLimit / 4, Math.min(MIN_RESERVE, fdLimit / 2));
    long budget = fdLimit - reserve;
    return (int) Math.max(DERIVED_FLOOR, Math.min(DERIVED_CEILING, budget));
  }

  /**
   * This process's open-file limit (the soft one, as in force; HotSpot raises it to the hard limit
   * at start unless {@code -XX:-MaxFDLimit}); 1024 when the platform cannot tell.
   */
  public static long descriptorLimit() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      long max = unix.getMaxFileDescriptorCount();
      if (max > 0) {
        return max;
      }
    }
    return 1024;
  }
}
