package dev.confaas.gateway.kafka;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one retry policy of this package: exponential back-off with full jitter ("Exponential
 * Backoff And Jitter", AWS Architecture Blog, 2015). Attempt {@code n} (from 1) waits a uniformly
 * random time in {@code [0, min(cap, base * 2^(n-1))]}, so many retries that failed together do
 * not come back together. Used for function retries, dead-letter and result writes, and consumer
 * restarts.
 */
record Backoff(Duration base, Duration cap) {
  Backoff {
    if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("back-off needs 0 < base <= cap, was " + base + ", " + cap);
    }
  }

  /** The longest attempt {@code n} may wait: {@code min(cap, base * 2^(n-1))}. */
  Duration ceiling(int attempt) {
    long base = this.base.toNanos();
    long cap = this.cap.toNanos();
    int shift = Math.max(0, attempt - 1);
    long exp = shift >= 62 || base > (cap >> Math.min(shift, 62)) ? cap : Math.min(cap, base << shift);
    return Duration.ofNanos(exp);
  }

  /** How long attempt {@code n} waits: uniform in {@code [0, ceiling(n)]}. */
  Duration delay(int attempt) {
    return Duration.ofNanos(ThreadLocalRandom.current().nextLong(ceiling(attempt).toNanos() + 1));
  }
}
