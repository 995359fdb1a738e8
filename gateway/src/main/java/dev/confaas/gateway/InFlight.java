package dev.confaas.gateway;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Invocations the gateway is handling, so shutdown can wait for them to be answered. */
final class InFlight {
  private final AtomicInteger count = new AtomicInteger();

  void begin() {
    count.incrementAndGet();
  }

  void end() {
    if (count.decrementAndGet() == 0) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  int count() {
    return count.get();
  }

  /** Waits until none is in flight or {@code grace} has passed; true if none is left. */
  synchronized boolean awaitIdle(Duration grace) {
    long until = System.nanoTime() + grace.toNanos();
    long left;
    while (count.get() > 0 && (left = until - System.nanoTime()) > 0) {
      try {
        wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return count.get() == 0;
  }
}
