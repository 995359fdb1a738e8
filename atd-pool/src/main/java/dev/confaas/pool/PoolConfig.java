package dev.confaas.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link WarmPool} sizes and maintains itself.
 *
 * @param target idle attested TDs to keep ready; a TD taken from the pool is replaced at once
 * @param min attested TDs (idle or in use) below which the pool reports itself not ready
 * @param max TDs alive at once, whatever their state (booting, idle, in use, draining)
 * @param maxBootsInFlight TDs booting or attesting at once
 * @param healthInterval how often each TD is checked (process alive, agent answers Inspect, quote
 *     re-verified); a late answer is load, not a failure ({@link TdHealth})
 * @param maxAge a TD older than this is drained and replaced
 * @param maxImagesPerTd a TD that has loaded this many images is drained and replaced once its work
 *     is done (RTMR3 only grows)
 * @param drainTimeout how long a draining TD's in-flight work may take before the TD is stopped anyway
 * @param livenessLimit how long a TD whose process runs may leave every check unanswered, or keep
 *     its channel failing, before it counts as lost; generous, as an overloaded agent is slow, not
 *     dead
 * @param inspectTimeout how long a health check's Inspect waits for the agent's answer (one at a
 *     time per TD); later is "late", which is load, not a loss ({@link TdHealth}). Generous on a
 *     slow backend ({@link TdTimeouts#inspect})
 */
public record PoolConfig(
    int target,
    int min,
    int max,
    int maxBootsInFlight,
    Duration healthInterval,
    Duration maxAge,
    int maxImagesPerTd,
    Duration drainTimeout,
    Duration livenessLimit,
    Duration inspectTimeout) {

  /** The default of {@link #livenessLimit}. */
  public static final Duration DEFAULT_LIVENESS_LIMIT = Duration.ofMinutes(3);

  /** With the default {@link #livenessLimit} and the {@code process} backend's {@link #inspectTimeout}. */
  public PoolConfig(
      int target,
      int min,
      int max,
      int maxBootsInFlight,
      Duration healthInterval,
      Duration maxAge,
      int maxImagesPerTd,
      Duration drainTimeout) {
    this(target, min, max, maxBootsInFlight, healthInterval, maxAge, maxImagesPerTd, drainTimeout,
        DEFAULT_LIVENESS_LIMIT, TdTimeouts.of("process", "none").inspect());
  }

  public PoolConfig {
    Objects.requireNonNull(healthInterval, "healthInterval");
    Objects.requireNonNull(maxAge, "maxAge");
    Objects.requireNonNull(drainTimeout, "drainTimeout");
    if (target < 0 || min < 0 || max < 1) {
      throw new IllegalArgumentException(
          "pool sizes must be target >= 0, min >= 0, max >= 1; got target="
              + target + " min=" + min + " max=" + max);
    }
    if (min > max || target > max) {
      throw new IllegalArgumentException(
          "pool min (" + min + ") and target (" + target + ") must not exceed max (" + max + ")");
    }
    if (maxBootsInFlight < 1) {
      throw new IllegalArgumentException(
          "maxBootsInFlight must be at least 1, was " + maxBootsInFlight);
    }
    if (maxImagesPerTd < 1) {
      throw new IllegalArgumentException("maxImagesPerTd must be at least 1, was " + maxImagesPerTd);
    }
    if (healthInterval.isNegative() || healthInterval.isZero()) {
      throw new IllegalArgumentException("healthInterval must be positive, was " + healthInterval);
    }
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
    }
    Objects.requireNonNull(livenessLimit, "livenessLimit");
    if (livenessLimit.isNegative() || livenessLimit.isZero()) {
      throw new IllegalArgumentException("livenessLimit must be positive, was " + livenessLimit);
    }
    Objects.requireNonNull(inspectTimeout, "inspectTimeout");
    if (inspectTimeout.isNegative() || inspectTimeout.isZero()) {
      throw new IllegalArgumentException("inspectTimeout must be positive, was " + inspectTimeout);
    }
    if (drainTimeout.isNegative()) {
      throw new IllegalArgumentException("drainTimeout must not be negative, was " + drainTimeout);
    }
  }

  /** With {@link #livenessLimit} {@code v}. */
  public PoolConfig withLivenessLimit(Duration v) {
    return new PoolConfig(target, min, max, maxBootsInFlight, healthInterval, maxAge,
        maxImagesPerTd, drainTimeout, v, inspectTimeout);
  }

  /** With {@link #inspectTimeout} {@code v}. */
  public PoolConfig withInspectTimeout(Duration v) {
    return new PoolConfig(target, min, max, maxBootsInFlight, healthInterval, maxAge,
        maxImagesPerTd, drainTimeout, livenessLimit, v);
  }

  /** A small pool for one machine: 2 idle TDs, up to 8, 2 booting at once, 1 h lifetime. */
  public static PoolConfig defaults() {
    return new PoolConfig(
        2, 1, 8, 2, Duration.ofSeconds(10), Duration.ofHours(1), 32, Duration.ofMinutes(1));
  }
}
