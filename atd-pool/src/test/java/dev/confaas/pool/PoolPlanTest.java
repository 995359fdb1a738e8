package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The warm pool's sizing, recycling and release decisions. */
class PoolPlanTest {
  // target 3 idle, ready at 1, at most 5 alive, 2 booting at once, 10 images, 1 h, 30 s drain.
  private final PoolConfig config =
      new PoolConfig(
          3, 1, 5, 2, Duration.ofSeconds(10), Duration.ofHours(1), 10, Duration.ofSeconds(30));
  private final Instant boot = Instant.parse("2026-11-22T08:00:00Z");

  private static PoolPlan.Counts counts(int booting, int idle, int active, int draining, int waiters) {
    return new PoolPlan.Counts(booting, idle, active, draining, waiters);
  }

  @Test
  void anEmptyPoolBootsNoMoreThanTheBootsInFlightLimit() {
    assertEquals(2, PoolPlan.bootsToStart(config, counts(0, 0, 0, 0, 0)),
        "target 3 but maxBootsInFlight 2");
    assertEquals(0, PoolPlan.bootsToStart(config, counts(2, 0, 0, 0, 0)),
        "with 2 booting, the third boot waits for a slot");
  }

  @Test
  void bootsInFlightCountTowardsTheTarget() {
    assertEquals(0, PoolPlan.bootsToStart(config, counts(2, 1, 0, 0, 0)),
        "2 booting + 1 idle already cover target 3");
    assertEquals(1, PoolPlan.bootsToStart(config, counts(1, 1, 0, 0, 0)),
        "1 booting + 1 idle: one more for target 3");
  }

  @Test
  void aTdTakenFromThePoolIsReplacedAtOnce() {
    // Full pool: 3 idle. One is acquired: 2 idle, 1 active -> one boot starts right away.
    assertEquals(0, PoolPlan.bootsToStart(config, counts(0, 3, 0, 0, 0)));
    assertEquals(1, PoolPlan.bootsToStart(config, counts(0, 2, 1, 0, 0)));
  }

  @Test
  void waitingAcquiresBootBeyondTheTargetButNeverBeyondMax() {
    assertEquals(2, PoolPlan.bootsToStart(config, counts(0, 0, 3, 0, 2)),
        "5 wanted (target 3 + 2 waiters), room for 2 under max 5");
    assertEquals(0, PoolPlan.bootsToStart(config, counts(0, 0, 4, 1, 3)),
        "4 active + 1 draining = max 5: nothing may boot");
  }

  @Test
  void acquireFailsAtOnceOnlyWhenNothingIsIdleBootingOrBootable() {
    assertNull(PoolPlan.cannotServe(config, counts(0, 1, 4, 0, 0)), "an idle TD is there");
    assertNull(PoolPlan.cannotServe(config, counts(0, 0, 3, 0, 0)), "room to boot another");
    assertNull(PoolPlan.cannotServe(config, counts(1, 0, 4, 0, 0)), "a boot will finish");
    String why = PoolPlan.cannotServe(config, counts(1, 0, 4, 0, 1));
    assertNotNull(why, "the one boot in flight is promised to an earlier waiter");
    assertTrue(why.contains("max=5"), why);
    assertNotNull(PoolPlan.cannotServe(config, counts(0, 0, 3, 2, 0)), "draining TDs hold the rest");
  }

  @Test
  void tdsAreRecycledByAgeAndByImagesLoaded() {
    assertNull(PoolPlan.recycleReason(config, boot, 9, boot.plus(Duration.ofMinutes(59))));
    String aged = PoolPlan.recycleReason(config, boot, 0, boot.plus(Duration.ofHours(1)));
    assertNotNull(aged);
    assertTrue(aged.contains("maxAge"), aged);
    String full = PoolPlan.recycleReason(config, boot, 10, boot.plusSeconds(1));
    assertNotNull(full);
    assertTrue(full.contains("maxImagesPerTd is 10"), full);
  }

  @Test
  void aReleasedTdGoesBackIdleOnlyIfNothingWasLoaded() {
    Instant now = boot.plusSeconds(60);
    assertNull(PoolPlan.releaseVerdict(config, boot, 0, now), "fresh TD: idle again");
    String loaded = PoolPlan.releaseVerdict(config, boot, 1, now);
    assertNotNull(loaded, "a TD that measured an image into RTMR3 is no longer fresh");
    assertTrue(loaded.contains("append-only"), loaded);
  }

  @Test
  void drainingEndsAfterTheDrainTimeout() {
    assertTrue(!PoolPlan.drainExpired(config, boot, boot.plusSeconds(29)));
    assertTrue(PoolPlan.drainExpired(config, boot, boot.plusSeconds(30)));
  }

  @Test
  void failedBootsBackOffUpToTheHealthInterval() {
    assertEquals(Duration.ZERO, PoolPlan.bootBackoff(config, 0));
    assertEquals(Duration.ofSeconds(1), PoolPlan.bootBackoff(config, 1));
    assertEquals(Duration.ofSeconds(4), PoolPlan.bootBackoff(config, 3));
    assertEquals(Duration.ofSeconds(10), PoolPlan.bootBackoff(config, 50));
  }

  @Test
  void readinessNeedsMinAttestedTds() {
    assertTrue(!PoolPlan.isReady(config, counts(2, 0, 0, 0, 0)), "booting TDs are not attested");
    assertTrue(PoolPlan.isReady(config, counts(0, 0, 1, 0, 0)));
  }

  @Test
  void configRejectsSizesThatCannotWork() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new PoolConfig(9, 1, 4, 1, Duration.ofSeconds(1), Duration.ofHours(1), 1, Duration.ZERO));
    assertTrue(e.getMessage().contains("target (9) must not exceed max (4)"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new PoolConfig(1, 1, 4, 0, Duration.ofSeconds(1), Duration.ofHours(1), 1, Duration.ZERO));
    assertTrue(e.getMessage().contains("maxBootsInFlight"), e.getMessage());
  }
}
