package dev.confaas.gateway.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one retry policy: exponential ceilings, capped, with full jitter below them. */
class BackoffTest {
  final Backoff policy = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30));

  @Test
  void ceilingsDoubleFromTheBaseUpToTheCap() {
    assertEquals(Duration.ofMillis(200), policy.ceiling(1));
    assertEquals(Duration.ofMillis(400), policy.ceiling(2));
    assertEquals(Duration.ofMillis(25_600), policy.ceiling(8));
    assertEquals(Duration.ofSeconds(30), policy.ceiling(9));
    assertEquals(Duration.ofSeconds(30), policy.ceiling(1_000), "no overflow for large attempts");
  }

  @Test
  void delaysAreSpreadBetweenZeroAndTheCeiling() {
    long below = 0;
    for (int i = 0; i < 2_000; i++) {
      Duration d = policy.delay(3);
      assertTrue(!d.isNegative() && d.compareTo(policy.ceiling(3)) <= 0, "delay " + d + " outside [0, 800 ms]");
      if (d.toMillis() < 400) {
        below++;
      }
    }
    // Full jitter: about half fall in the lower half (equal jitter would put none there).
    assertTrue(below > 600 && below < 1_400, below + " of 2000 delays below half the ceiling");
  }

  @Test
  void aBaseAboveTheCapIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
  }
}
