package dev.confaas.scheduler;

import dev.confaas.policy.PolicyImage;
import dev.confaas.pool.PoolExhaustedException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the instances the {@link Dispatcher} decided on, on its own bounded executor (starts
 * block: repository reads, image loads): reads the function's load chain, chooses a TD with {@link
 * Placement} (a held one, or a fresh one from the {@link TdSource}), loads what that TD lacks of
 * the chain, and starts the instance. Knows no queue and no wire protocol.
 *
 * <p>Placement decisions are taken one at a time (the view of the TDs and the reservation that
 * follows from it must not interleave with another start's), the rest of a start runs in parallel.
 */
final class InstanceStarter {
  private static final Logger log = LoggerFactory.getLogger(InstanceStarter.class);
  /**
   * The Retry-After of calls whose instance could not start, so every such 503 says when to come
   * back (issue 11, defect 7): soon when the pool had no TD free (one frees up or boots), later
   * when a load or start failed (the cause may take a while to go away).
   */
  private static final Duration RETRY_WHEN_POOL_EXHAUSTED = Duration.ofSeconds(1);

  private static final Duration RETRY_AFTER_FAILED_START = Duration.ofSeconds(5);

  /** What the starter asks of the dispatcher; each call takes the dispatcher's monitor. */
  interface Host {
    /** The held TDs that take work, as placement needs to see them for a start of {@code s}. */
    List<Candidate> candidates(Instance s);

    /** Places {@code s} on a held TD; null when that TD is no longer held. */
    TdSource.LeasedTd reserve(Instance s, String tdId, List<ImageFacts> chain);

    /** Takes a fresh TD and places {@code s} on it; false when it may not (shut down, given up). */
    boolean adopt(Instance s, TdSource.LeasedTd td, List<ImageFacts> chain);

    /** The instance runs; false when it is not wanted any more (its TD went, shut down). */
    boolean started(Instance s, String instanceId);

    /** The start failed; the calls waiting for it are rejected with {@code reason}. */
    void startFailed(Instance s, String why, Duration retryAfter, InvocationRejectedException.Reason reason);
  }

  /**
   * A held TD as the dispatcher sees it.
   *
   * @param images what the pool records as loaded plus the chains of starts reserved there
   * @param instances live instances there (starting, idle, busy)
   * @param instancesOfImage of those, instances of the function image being placed
   */
  record Candidate(String tdId, List<String> images, int instances, int instancesOfImage) {}

  private final TdSource tds;
  private final ImageFactsCache images;
  private final SchedulerConfig config;
  private final Executor executor;
  private final Object placing = new Object();
  private final Counter placementsExisting;
  private final Counter placementsFresh;
  private final Counter coldLoads;

  /**
   * @param executor runs the starts; bounded, with at least {@code maxColdStartsInFlight} threads
   */
  InstanceStarter(
      TdSource tds, ImageFactsCache images, SchedulerConfig config, Executor executor, MeterRegistry meters) {
    this.tds = tds;
    this.images = images;
    this.config = config;
    this.executor = executor;
    placementsExisting = placements(meters, "existing_td");
    placementsFresh = placements(meters, "fresh_td");
    coldLoads =
        Counter.builder("confaas.scheduler.cold.loads")
            .description("images loaded into a TD (AddManifest that measured a new image)")
            .register(meters);
  }

  private static Counter placements(MeterRegistry meters, String target) {
    return Counter.builder("confaas.scheduler.placements")
        .tag("target", target)
        .description("function instances placed, on a TD already in use or a fresh one")
        .register(meters);
  }

  /** Starts {@code s} (STARTING); every outcome is reported to {@code host}. Never blocks. */
  void start(Instance s, Host host) {
    submit(() -> placeAndStart(s, host), s, host, null);
  }

  private void placeAndStart(Instance s, Host host) {
    List<ImageFacts> chain;
    TdSource.LeasedTd td;
    try {
      chain = images.chain(s.fn.d);
      td = s.target != null ? placeOnTarget(s, host, chain) : placeOnHeld(s, host, chain);
    } catch (RuntimeException e) {
      fail(s, host, e);
      return;
    }
    if (td != null) {
      loadAndStart(s, host, td, chain, false);
      return;
    }
    tds.acquire()
        .whenComplete(
            (fresh, err) -> {
              if (err != null) {
                fail(s, host, err);
              } else {
                submit(() -> adoptAndStart(s, host, fresh, chain), s, host, fresh);
              }
            });
  }

  private void adoptAndStart(Instance s, Host host, TdSource.LeasedTd fresh, List<ImageFacts> chain) {
    if (!host.adopt(s, fresh, chain)) {
      tds.release(fresh);
      fail(s, host, new IllegalStateException("the scheduler shut down or no longer needs it"));
      return;
    }
    loadAndStart(s, host, fresh, chain, true);
  }

  /** The held TD {@link Placement} chose, reserved for {@code s}; null when a fresh TD is needed. */
  private TdSource.LeasedTd placeOnHeld(Instance s, Host host, List<ImageFacts> chain) {
    List<PolicyImage> policies = chain.stream().map(ImageFacts::policy).toList();
    ImageFacts function = chain.get(chain.size() - 1);
    int maxImages = tds.maxImagesPerTd();
    synchronized (placing) {
      // A TD may go between the view and the reservation; then look again.
      for (int attempt = 0; attempt < 3; attempt++) {
        List<Placement.TdView> views = new ArrayList<>();
        for (Candidate c : host.candidates(s)) {
          long toLoad = chain.stream().filter(f -> !c.images().contains(f.imageId())).count();
          // Loading past the pool's image limit would only get the TD drained; take a fresh one.
          if (toLoad == 0 || c.images().size() + toLoad <= maxImages) {
            List<PolicyImage> held = policiesOf(c);
            if (held != null) {
              views.add(new Placement.TdView(c.tdId(), held, c.instances(), c.instancesOfImage()));
            }
          }
        }
        Placement.Choice choice =
            Placement.choose(policies, function.maxInstances(), config.maxInstancesPerTd(), views);
        if (choice.tdId().isEmpty()) {
          return null;
        }
        TdSource.LeasedTd td = host.reserve(s, choice.tdId().get(), chain);
        if (td != null) {
          return td;
        }
      }
      return null;
    }
  }

  /**
   * Reserves {@code s}'s target TD for it, when that TD still takes work, has room, and its images
   * and the function's chain accept each other.
   *
   * @throws TargetRefused saying which of those does not hold
   */
  private TdSource.LeasedTd placeOnTarget(Instance s, Host host, List<ImageFacts> chain) {
    List<PolicyImage> policies = chain.stream().map(ImageFacts::policy).toList();
    ImageFacts function = chain.get(chain.size() - 1);
    synchronized (placing) {
      Candidate c = host.candidates(s).stream()
          .filter(x -> x.tdId().equals(s.target)).findFirst().orElse(null);
      if (c == null) {
        throw new TargetRefused(InvocationRejectedException.Reason.TD_GONE,
            "TD " + s.target + " no longer takes work (stopped, lost or draining)");
      }
      long toLoad = chain.stream().filter(f -> !c.images().contains(f.imageId())).count();
      if (toLoad > 0 && c.images().size() + toLoad > tds.maxImagesPerTd()) {
        throw refuses(s, "it holds " + c.images().size() + " images and the function needs " + toLoad
            + " more, past the pool's limit of " + tds.maxImagesPerTd() + " per TD");
      }
      if (c.instances() >= config.maxInstancesPerTd()) {
        throw refuses(s, "it runs " + c.instances() + " instances, the platform's limit per TD");
      }
      if (function.maxInstances() > 0 && c.instancesOfImage() >= function.maxInstances()) {
        throw refuses(s, "it runs " + c.instancesOfImage() + " instances of the image, its manifest's"
            + " maxInstances");
      }
      List<PolicyImage> held = policiesOf(c);
      if (held == null) {
        throw refuses(s, "the images it holds cannot be read from the repository");
      }
      Optional<String> refusal = Placement.refusal(held, policies);
      if (refusal.isPresent()) {
        throw refuses(s, "launch policies forbid it: " + refusal.get());
      }
      TdSource.LeasedTd td = host.reserve(s, c.tdId(), chain);
      if (td == null) {
        throw new TargetRefused(InvocationRejectedException.Reason.TD_GONE,
            "TD " + s.target + " was given up while placing the function");
      }
      return td;
    }
  }

  private static TargetRefused refuses(Instance s, String why) {
    return new TargetRefused(InvocationRejectedException.Reason.TD_REFUSES_FUNCTION,
        "TD " + s.target + " cannot take function \"" + s.fn.d.name() + "\": " + why);
  }

  /** The TD a start must use cannot take it; {@link #reason} says how the waiting calls are told. */
  static final class TargetRefused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient InvocationRejectedException.Reason reason;

    TargetRefused(InvocationRejectedException.Reason reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /** The policies of what a TD holds; null (not a candidate) when one can no longer be read. */
  private List<PolicyImage> policiesOf(Candidate c) {
    List<PolicyImage> out = new ArrayList<>(c.images().size());
    for (String id : c.images()) {
      try {
        out.add(images.get(id).policy());
      } catch (RuntimeException unreadable) {
        log.warn("TD {} not considered for placement: image {}", c.tdId(), unreadable.getMessage());
        return null;
      }
    }
    return out;
  }

  private void loadAndStart(
      Instance s, Host host, TdSource.LeasedTd td, List<ImageFacts> chain, boolean fresh) {
    try {
      coldLoads.increment(td.agent().loadChain(chain));
      String id = td.agent().start(chain.get(chain.size() - 1).imageId(), s.fn.d);
      if (host.started(s, id)) {
        (fresh ? placementsFresh : placementsExisting).increment();
      }
    } catch (TdAgent.Refused | RuntimeException e) {
      fail(s, host, e);
    }
  }

  private void submit(Runnable step, Instance s, Host host, TdSource.LeasedTd toRelease) {
    try {
      executor.execute(step);
    } catch (RejectedExecutionException e) {
      if (toRelease != null) {
        tds.release(toRelease);
      }
      fail(s, host, new IllegalStateException("the scheduler is shutting down", e));
    }
  }

  private static void fail(Instance s, Host host, Throwable err) {
    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    String why = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    host.startFailed(
        s,
        why,
        cause instanceof TargetRefused
            ? Duration.ZERO
            : cause instanceof PoolExhaustedException ? RETRY_WHEN_POOL_EXHAUSTED : RETRY_AFTER_FAILED_START,
        cause instanceof TargetRefused t ? t.reason : InvocationRejectedException.Reason.UNAVAILABLE);
  }
}
