package dev.confaas.scheduler;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The function versions the {@link Dispatcher} keeps state for, each a {@link FunctionLane} with
 * its meters: made on a version's first call, and forgotten with its meters once it has no
 * instances and no queued calls — at once when the catalog no longer has that version, otherwise
 * after a keep-alive of quiet — so a platform that sees many versions over time holds state and
 * meters for the live ones only. Also the load estimates overload answers are made of: how long a
 * call queued now would wait, and the Retry-After of a call refused.
 *
 * <p>Guarded by the dispatcher's monitor; the gauges take that monitor to read.
 */
final class FunctionLanes {
  private final Map<String, FunctionLane> lanes = new LinkedHashMap<>();
  private final FunctionCatalog catalog;
  private final MeterRegistry meters;
  private final Duration keepAlive;
  private final FairQueues<FunctionLane, ?> queues;
  private final Object monitor;

  /**
   * @param queues the dispatcher's queues: a lane with calls queued is never forgotten
   * @param monitor the dispatcher's monitor, which guards lanes and queues
   */
  FunctionLanes(
      FunctionCatalog catalog,
      MeterRegistry meters,
      Duration keepAlive,
      FairQueues<FunctionLane, ?> queues,
      Object monitor) {
    this.catalog = catalog;
    this.meters = meters;
    this.keepAlive = keepAlive;
    this.queues = queues;
    this.monitor = monitor;
  }

  /** The lane of deployment {@code d}, made (with its meters) on first use. */
  FunctionLane of(DeployedFunction d, Instant now) {
    return lanes.computeIfAbsent(FunctionLane.key(d), k -> newLane(d, now));
  }

  /** Every lane, oldest first. */
  Collection<FunctionLane> all() {
    return lanes.values();
  }

  /** Function versions with state and meters. */
  int size() {
    return lanes.size();
  }

  /**
   * Forgets lanes without instances or queued calls (their meters too): at once when the catalog
   * no longer has that version, else after a keep-alive of quiet.
   */
  void forgetQuiet(Instant now) {
    for (FunctionLane fn : List.copyOf(lanes.values())) {
      if (!fn.instances.isEmpty() || queues.depth(fn) > 0) {
        continue;
      }
      if (!now.isBefore(fn.lastActive.plus(keepAlive)) || isDeleted(fn)) {
        lanes.remove(fn.key);
        queues.forget(fn);
        fn.meters.remove();
      }
    }
  }

  /**
   * How long a call queued now is expected to wait: the calls queued ahead of it plus the one
   * running, at the function's average latency, shared among its instances. Zero while the function
   * may still start instances (a new one serves the call) or has served nothing to judge by.
   */
  Duration queuedWork(FunctionLane fn) {
    if (fn.working() < fn.d.concurrency() || fn.meters.latency.count() == 0) {
      return Duration.ZERO;
    }
    return Duration.ofMillis((long) (fn.avgMillis * (queues.depth(fn) + 1) / fn.d.concurrency()));
  }

  /** A hint for OVERLOADED: the queue ahead divided among the function's instances, at least 1 s. */
  Duration retryAfter(FunctionLane fn) {
    double ms = fn.avgMillis * (queues.depth(fn) + 1) / fn.d.concurrency();
    return Duration.ofSeconds(Math.max(1, (long) Math.ceil(ms / 1000)));
  }

  private FunctionLane newLane(DeployedFunction d, Instant now) {
    FunctionLane fn = new FunctionLane(d, now);
    fn.meters = new FunctionMeters(meters, d, fn, this::queueDepth, this::inFlight, this::warm);
    return fn;
  }

  private boolean isDeleted(FunctionLane fn) {
    try {
      return catalog.resolve(fn.d.name(), Integer.toString(fn.d.version()))
          .map(d -> !d.imageId().equals(fn.d.imageId()))
          .orElse(true);
    } catch (RuntimeException e) {
      return false; // the catalog cannot say now; keep-alive forgets it later
    }
  }

  private double queueDepth(FunctionLane fn) {
    synchronized (monitor) {
      return queues.depth(fn);
    }
  }

  private double inFlight(FunctionLane fn) {
    synchronized (monitor) {
      return fn.count(Instance.State.BUSY);
    }
  }

  private double warm(FunctionLane fn) {
    synchronized (monitor) {
      return fn.warm();
    }
  }
}
