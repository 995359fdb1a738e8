package dev.confaas.pool;

import java.time.Duration;
import java.time.Instant;

/**
 * The pool's decisions as pure functions of its counts, its configuration and the time, so they are
 * tested without booting anything. {@link WarmPool} applies them.
 */
final class PoolPlan {
  private PoolPlan() {}

  /** The pool's TDs by state, and how many {@code acquire()} calls wait for one. */
  record Counts(int booting, int idle, int active, int draining, int waiters) {
    int alive() {
      return booting + idle + active + draining;
    }

    int attested() {
      return idle + active;
    }
  }

  /**
   * How many boots to start now: enough that idle plus booting TDs cover the target and every waiting
   * acquire (boot-ahead), but never more than {@code max} TDs alive or {@code maxBootsInFlight} booting.
   */
  static int bootsToStart(PoolConfig c, Counts n) {
    int wanted = c.target() + n.waiters() - n.idle() - n.booting();
    int room = c.max() - n.alive();
    int slots = c.maxBootsInFlight() - n.booting();
    return Math.max(0, Math.min(wanted, Math.min(room, slots)));
  }

  /**
   * Why an acquire cannot wait for a TD, or null when it can: nothing idle, nothing booting and no
   * room to boot another means only a release would help, and the caller should hear that now.
   */
  static String cannotServe(PoolConfig c, Counts n) {
    if (n.idle() > 0 || n.booting() > n.waiters() || n.alive() < c.max()) {
      return null;
    }
    return "all "
        + c.max()
        + " TDs the pool may run are in use or draining (pool max="
        + c.max()
        + "); retry later or raise the pool's max";
  }

  /**
   * Why a TD should be recycled now (drained if in use, stopped if idle), or null: it is older than
   * {@code maxAge} or has loaded {@code maxImagesPerTd} images.
   */
  static String recycleReason(PoolConfig c, Instant bootedAt, int imagesLoaded, Instant now) {
    Duration age = Duration.between(bootedAt, now);
    if (age.compareTo(c.maxAge()) >= 0) {
      return "recycled: age " + age + " reached maxAge " + c.maxAge();
    }
    if (imagesLoaded >= c.maxImagesPerTd()) {
      return "recycled: loaded " + imagesLoaded + " images, maxImagesPerTd is " + c.maxImagesPerTd();
    }
    return null;
  }

  /**
   * What to do with a TD its holder gives back: null = idle again (nothing was loaded, so its RTMR3
   * still matches a fresh TD's and any function may use it); otherwise why it is stopped instead.
   */
  static String releaseVerdict(PoolConfig c, Instant bootedAt, int imagesLoaded, Instant now) {
    String recycle = recycleReason(c, bootedAt, imagesLoaded, now);
    if (recycle != null) {
      return recycle;
    }
    if (imagesLoaded > 0) {
      return "released after loading "
          + imagesLoaded
          + " image(s): RTMR3 is append-only, so it cannot serve as a fresh TD again";
    }
    return null;
  }

  /** True once a draining TD has had its drain timeout. */
  static boolean drainExpired(PoolConfig c, Instant drainingSince, Instant now) {
    return Duration.between(drainingSince, now).compareTo(c.drainTimeout()) >= 0;
  }

  /**
   * Delay before the next boot after {@code consecutiveFailures} failed boots: none after a success,
   * then 1 s doubling, at most the health interval, so a broken backend is not hammered.
   */
  static Duration bootBackoff(PoolConfig c, int consecutiveFailures) {
    if (consecutiveFailures <= 0) {
      return Duration.ZERO;
    }
    Duration d = Duration.ofSeconds(1L << Math.min(consecutiveFailures - 1, 20));
    return d.compareTo(c.healthInterval()) > 0 ? c.healthInterval() : d;
  }

  /** The pool is ready when at least {@code min} attested TDs are up. */
  static boolean isReady(PoolConfig c, Counts n) {
    return n.attested() >= c.min();
  }
}
