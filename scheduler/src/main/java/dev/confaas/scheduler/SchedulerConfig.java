package dev.confaas.scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * How the {@link Scheduler} queues, places and scales.
 *
 * @param queueCapacity invocations that may wait per function when all its instances are busy;
 *     beyond that the call is rejected OVERLOADED (HTTP 429 with Retry-After)
 * @param keepAlive an instance idle this long is stopped; a TD left without instances goes back to
 *     the pool (functions scale to zero); a function version
 *     without instances or queued calls for this long is forgotten, its meters removed
 * @param maxInstancesPerTd instances on one TD, whatever their function (the image's own {@code
 *     maxInstances} caps its instances further)
 * @param maxColdStartsInFlight instance starts (TD acquire, image load, Start) in progress at once,
 *     shared fairly between functions
 * @param loadTimeout limit for loading images into a TD and starting an instance
 * @param invokeGrace added to the function's timeout for the Invoke RPC's own deadline; a call
 *     still unanswered then fails as TIMED_OUT and gives up its instance, while the TD (whose
 *     liveness the pool's health checks judge) is kept
 * @param tick how often idle instances, deadlines of queued calls and draining TDs are looked at
 */
public record SchedulerConfig(
    int queueCapacity,
    Duration keepAlive,
    int maxInstancesPerTd,
    int maxColdStartsInFlight,
    Duration loadTimeout,
    Duration invokeGrace,
    Duration tick) {

  public SchedulerConfig {
    Objects.requireNonNull(keepAlive, "keepAlive");
    Objects.requireNonNull(loadTimeout, "loadTimeout");
    Objects.requireNonNull(invokeGrace, "invokeGrace");
    Objects.requireNonNull(tick, "tick");
    if (queueCapacity < 0) {
      throw new IllegalArgumentException("queueCapacity must not be negative, was " + queueCapacity);
    }
    if (maxInstancesPerTd < 1 || maxColdStartsInFlight < 1) {
      throw new IllegalArgumentException(
          "maxInstancesPerTd and maxColdStartsInFlight must be at least 1, were "
              + maxInstancesPerTd + " and " + maxColdStartsInFlight);
    }
    if (tick.isZero() || tick.isNegative()) {
      throw new IllegalArgumentException("tick must be positive, was " + tick);
    }
  }

  /** 100 queued per function, 10 min keep-alive, 16 instances per TD, 4 cold starts at once. */
  public static SchedulerConfig defaults() {
    return new SchedulerConfig(
        100,
        Duration.ofMinutes(10),
        16,
        4,
        Duration.ofSeconds(60),
        Duration.ofSeconds(5),
        Duration.ofMillis(250));
  }
}
