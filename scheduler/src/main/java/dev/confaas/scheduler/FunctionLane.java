package dev.confaas.scheduler;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The dispatcher's record of one deployed function version: its instances, its latency estimate
 * and its meters. Guarded by the {@link Dispatcher}'s monitor.
 */
final class FunctionLane {
  final DeployedFunction d;
  final String key;
  /** Every instance that is not GONE, in start order. */
  final List<Instance> instances = new ArrayList<>();
  /** Moving average of invocation time, for the Retry-After hint. */
  double avgMillis = 1000;
  /** The last time a call arrived or finished or an instance went; the lane is forgotten after. */
  Instant lastActive;
  FunctionMeters meters;
  /** Callers of {@code prepare} waiting for a warm instance; bounded by the queue capacity. */
  final List<java.util.concurrent.CompletableFuture<Void>> warmWaiters = new ArrayList<>();

  FunctionLane(DeployedFunction d, Instant now) {
    this.d = d;
    this.key = key(d);
    this.lastActive = now;
  }

  static String key(DeployedFunction d) {
    return d.name() + "@" + d.version() + "@" + d.imageId();
  }

  int count(Instance.State s) {
    int n = 0;
    for (Instance i : instances) {
      if (i.is(s)) {
        n++;
      }
    }
    return n;
  }

  int warm() {
    return count(Instance.State.IDLE) + count(Instance.State.BUSY);
  }

  boolean hasLive() {
    return instances.stream().anyMatch(i -> i.state().isLive());
  }

  /** Warm instances on TDs that still take work; those on draining TDs are on their way out. */
  int working() {
    int n = 0;
    for (Instance i : instances) {
      if (i.state().isWarm() && i.td.lease.acceptsWork()) {
        n++;
      }
    }
    return n;
  }

  /** An idle instance in TD {@code tdId}, if it still takes work; or null. */
  Instance idleInstanceIn(String tdId) {
    for (Instance i : instances) {
      if (i.is(Instance.State.IDLE) && i.td.id().equals(tdId) && i.td.lease.acceptsWork()) {
        return i;
      }
    }
    return null;
  }

  /** Whether an instance is live in TD {@code tdId} or being started there. */
  boolean hasLiveIn(String tdId) {
    for (Instance i : instances) {
      if (i.state().isLive()
          && (tdId.equals(i.target) || i.td != null && i.td.id().equals(tdId))) {
        return true;
      }
    }
    return false;
  }

  /** Whether an instance is being started in TD {@code tdId}. */
  boolean startingIn(String tdId) {
    for (Instance i : instances) {
      if (i.is(Instance.State.STARTING)
          && (tdId.equals(i.target) || i.td != null && i.td.id().equals(tdId))) {
        return true;
      }
    }
    return false;
  }

  int live() {
    int n = 0;
    for (Instance i : instances) {
      if (i.state().isLive()) {
        n++;
      }
    }
    return n;
  }

  /** An idle instance on a TD that still takes work (not draining, not dead), or null. */
  Instance idleInstance() {
    for (Instance i : instances) {
      if (i.is(Instance.State.IDLE) && i.td.lease.acceptsWork()) {
        return i;
      }
    }
    return null;
  }
}
