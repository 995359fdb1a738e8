package dev.confaas.bench.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The load generator's wiring: every request counted once, errors kept apart, no timings. */
class LoadTest {

  @Test
  void openLoopSendsRateTimesDurationRequestsAndCountsEachOnce() throws Exception {
    AtomicInteger sent = new AtomicInteger();
    Load.Target answersAtOnce = () -> {
      sent.incrementAndGet();
      return CompletableFuture.completedFuture("ok");
    };

    Load.Stats s = Load.openLoop(answersAtOnce, 200, Duration.ofMillis(250), Duration.ofSeconds(5));

    assertEquals(50, sent.get(), "200/s for 250 ms is 50 intended sends");
    assertEquals(50, s.ok(), "each answered request is counted once: " + s);
    assertEquals(0, s.errors(), "no request failed: " + s);
    assertTrue(s.p50Ms() <= s.p99Ms() && s.p99Ms() <= s.maxMs(), "percentiles ordered: " + s);
  }

  @Test
  void closedLoopCountsFailuresAsErrorsWithTheFirstReason() throws Exception {
    AtomicInteger n = new AtomicInteger();
    Load.Target everyOtherFails = () -> n.incrementAndGet() % 2 == 0
        ? CompletableFuture.failedFuture(new IllegalStateException("HTTP 503: overloaded"))
        : CompletableFuture.supplyAsync(() -> "ok");

    Load.Stats s = Load.closedLoop(everyOtherFails, 2, Duration.ofMillis(100));

    assertEquals(n.get(), s.ok() + s.errors(), "every send is an answer or an error: " + s);
    assertTrue(s.errors() > 0 && s.ok() > 0, "both outcomes seen: " + s);
    assertTrue(s.firstError().contains("HTTP 503: overloaded"), s.firstError());
  }

  @Test
  void tableShowsCostRelativeToTheBaselineForBothKindsOfFigure() {
    String table = LoadHarness.table(List.of(
        new LoadHarness.Row("s", "latency", "ms", 30, 10, true, ""),
        new LoadHarness.Row("s", "throughput", "req/s", 50, 100, false, "")));

    assertTrue(table.contains("| s | latency | 30.0 | 10.0 | ms | 3.00 |"), table);
    assertTrue(table.contains("| s | throughput | 50.0 | 100 | req/s | 2.00 |"), table);
  }
}
