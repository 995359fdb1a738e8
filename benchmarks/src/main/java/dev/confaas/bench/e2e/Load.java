package dev.confaas.bench.e2e;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The load generator: open loop at a fixed rate (latency measured from each request's intended
 * send time, so a stalled server is charged for the requests it kept waiting: coordinated omission
 * corrected) and closed loop at a fixed concurrency (latency from the actual send; throughput is
 * what the concurrency sustains). Latencies go into an HdrHistogram with 3 significant digits.
 */
final class Load {
  private Load() {}

  /** Sends one request; the future completes when its answer is in, exceptionally on error. */
  @FunctionalInterface
  interface Target {
    CompletableFuture<?> send();
  }

  /**
   * What one load run measured.
   *
   * @param mode {@code open} or {@code closed}
   * @param setting requests per second (open) or concurrency (closed)
   */
  record Stats(
      String mode,
      double setting,
      double seconds,
      long ok,
      long errors,
      double throughput,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      double p999Ms,
      double maxMs,
      String firstError) {

    static Stats of(String mode, double setting, double seconds, long ok, long errors,
        Histogram h, String firstError) {
      return new Stats(mode, setting, seconds, ok, errors, ok / seconds,
          ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9),
          h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1e6, firstError);
    }

    private static double ms(Histogram h, double percentile) {
      return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1e6;
    }
  }

  private static final class Recording {
    final Histogram histogram = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
    final AtomicLong ok = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    volatile String firstError;

    synchronized void record(long nanos) {
      histogram.recordValue(Math.min(Math.max(nanos, 0), histogram.getHighestTrackableValue()));
    }

    void done(long fromNanos, Throwable failure) {
      if (failure == null) {
        ok.incrementAndGet();
        record(System.nanoTime() - fromNanos);
      } else {
        if (errors.getAndIncrement() == 0) {
          firstError = String.valueOf(failure.getCause() != null ? failure.getCause() : failure);
        }
      }
    }
  }

  /** Sends {@code rate} requests per second for {@code duration}, paced by intended send times. */
  static Stats openLoop(Target target, double rate, Duration duration, Duration drain)
      throws InterruptedException {
    Recording rec = new Recording();
    long total = Math.max(1, (long) (rate * duration.toNanos() / 1e9));
    long periodNanos = (long) (1e9 / rate);
    CountDownLatch outstanding = new CountDownLatch((int) total);
    long start = System.nanoTime();
    for (long i = 0; i < total; i++) {
      long intended = start + i * periodNanos;
      long wait;
      while ((wait = intended - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      CompletableFuture<?> f;
      try {
        f = target.send();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete((r, e) -> {
        rec.done(intended, e);
        outstanding.countDown();
      });
    }
    boolean drained = outstanding.await(drain.toMillis(), TimeUnit.MILLISECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    long missing = drained ? 0 : outstanding.getCount();
    return Stats.of("open", rate, seconds, rec.ok.get(), rec.errors.get() + missing, rec.histogram,
        rec.firstError != null ? rec.firstError
            : missing > 0 ? missing + " requests unanswered after the drain time" : null);
  }

  /** Keeps {@code concurrency} requests in flight for {@code duration}. */
  static Stats closedLoop(Target target, int concurrency, Duration duration)
      throws InterruptedException {
    Recording rec = new Recording();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    CountDownLatch users = new CountDownLatch(concurrency);
    for (int u = 0; u < concurrency; u++) {
      next(target, rec, end, users);
    }
    users.await(duration.toMillis() + 60_000, TimeUnit.MILLISECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    return Stats.of("closed", concurrency, seconds, rec.ok.get(), rec.errors.get(),
        rec.histogram, rec.firstError);
  }

  private static void next(Target target, Recording rec, long end, CountDownLatch users) {
    // Iterative when answers come back synchronously, so a fast target cannot overflow the stack.
    while (true) {
      if (System.nanoTime() >= end) {
        users.countDown();
        return;
      }
      long sent = System.nanoTime();
      CompletableFuture<?> f;
      try {
        f = target.send();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      if (!f.isDone()) {
        f.whenComplete((r, e) -> {
          rec.done(sent, e);
          next(target, rec, end, users);
        });
        return;
      }
      Throwable failure = null;
      try {
        f.join();
      } catch (RuntimeException e) {
        failure = e;
      }
      rec.done(sent, failure);
    }
  }
}
