package dev.confaas.pool;

import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.Receipt;
import dev.confaas.agent.TdEvidence;
import dev.confaas.agent.v1.InspectRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps booted, attested, idle TDs ready (ARCHITECTURE.md, flow 1) so an invocation never waits for a
 * boot when the pool is sized right.
 *
 * <ul>
 *   <li>Boot-ahead: whenever a TD is taken, a replacement starts booting, up to {@code max} TDs alive
 *       and {@code maxBootsInFlight} booting ({@link PoolPlan#bootsToStart}).
 *   <li>Launch and attestation run on {@code bootExecutor} (they block), never on the caller's or an
 *       event-loop thread. A TD enters the pool only after {@link TdAttestor#attest} succeeded; the
 *       attestor uses a fresh nonce per boot.
 *   <li>Every {@code healthInterval}: each TD's agent is asked Inspect and its quote re-verified
 *       ({@link TdAttestor#reattest}). A TD that fails re-attestation is stopped and replaced; so is
 *       one that is no longer alive by {@link TdHealth}'s rule (process exited, channel failing or
 *       agent silent for {@code livenessLimit}, unreachable several checks in a row). A late answer
 *       is load, never a reason to kill a TD. A TD past {@code maxAge} or {@code maxImagesPerTd} is
 *       recycled (drained first when in use); a draining TD past {@code drainTimeout} is stopped.
 *   <li>After each image load ({@link PooledTd#recordLoaded}) the TD is re-attested too, so the RTMR3
 *       log {@link #tds()} shows is current and the one a verified quote replays.
 *   <li>A TD whose agent measured an image and then refused it ({@link
 *       PooledTd#refusedAfterMeasuring}) does not list it as loaded and is drained: RTMR3 names an
 *       image it does not run, so it is not shared further.
 *   <li>Vendor layer updates: {@link #drainTdsHolding} drains the TDs holding images whose aliases
 *       moved ({@code AliasResolver.staleImages} says which).
 * </ul>
 *
 * <p>Thread-safe: state is guarded by this object's monitor; nothing that blocks runs under it.
 */
public final class WarmPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WarmPool.class);
  private static final int STOPPED_KEPT = 32;

  private final TdLauncher launcher;
  private final TdAttestor attestor;
  private final PoolConfig config;
  private final Clock clock;
  private final ScheduledExecutorService timer;
  private final Executor bootExecutor;

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final Deque<Entry> stopped = new ArrayDeque<>();
  private final Deque<CompletableFuture<PooledTd>> waiters = new ArrayDeque<>();
  private final List<java.util.function.Consumer<PooledTd>> attestedListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicLong sequence = new AtomicLong();
  // TD IDs name directories that outlive a pool (their logs are kept), so each pool gets its own
  // prefix: a restarted platform must not collide with the IDs of the previous run.
  private final String idPrefix =
      Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 32);
  private int consecutiveBootFailures;
  private Instant nextBootAllowedAt = Instant.MIN;
  private boolean refillScheduled;
  private boolean reattestUnsupported;
  private boolean closed;
  private ScheduledFuture<?> healthTask;

  private final Counter boots;
  private final Counter bootFailures;
  private final Counter attestationFailures;
  private final Timer bootToReady;

  /**
   * @param launcher boots TDs on one backend
   * @param attestor attests them at boot and periodically
   * @param config sizes and intervals
   * @param clock the time for ages, drain timeouts and boot latency
   * @param timer runs the periodic health check and delayed refills
   * @param bootExecutor runs launches, attestations, re-attestations and TD shutdowns (blocking
   *     work; give it at least {@code maxBootsInFlight} threads plus one)
   * @param meters where pool sizes by state, boots, failures and boot-to-ready latency go
   */
  public WarmPool(
      TdLauncher launcher,
      TdAttestor attestor,
      PoolConfig config,
      Clock clock,
      ScheduledExecutorService timer,
      Executor bootExecutor,
      MeterRegistry meters) {
    this.launcher = launcher;
    this.attestor = attestor;
    this.config = config;
    this.clock = clock;
    this.timer = timer;
    this.bootExecutor = bootExecutor;
    for (TdState s : TdState.values()) {
      Gauge.builder("confaas.pool.tds", this, p -> p.count(s))
          .tag("state", s.name())
          .description("TDs in the warm pool by state")
          .register(meters);
    }
    boots = Counter.builder("confaas.pool.boots").description("TD boots started").register(meters);
    bootFailures =
        Counter.builder("confaas.pool.boot.failures")
            .description("TD boots that did not come up")
            .register(meters);
    attestationFailures =
        Counter.builder("confaas.pool.attestation.failures")
            .description("TDs that failed attestation at boot or re-attestation")
            .register(meters);
    bootToReady =
        Timer.builder("confaas.pool.boot.ready")
            .description("time from boot start until the TD is attested and idle")
            .register(meters);
  }

  /**
   * Calls {@code listener} with every TD that passed its boot attestation: at once for those that
   * already did and are not stopped, later for each new one, on the thread that attested it (keep
   * it quick). Nothing tells it when a TD stops: {@link PooledTd#isAlive()} says so.
   */
  public void onAttested(java.util.function.Consumer<PooledTd> listener) {
    List<PooledTd> now = new ArrayList<>();
    synchronized (this) {
      attestedListeners.add(listener);
      for (Entry e : entries.values()) {
        if (e.attested != null && e.state != TdState.STOPPED) {
          now.add(e.handle);
        }
      }
    }
    now.forEach(listener);
  }

  /** Starts filling the pool and the periodic health check. */
  public synchronized void start() {
    if (healthTask == null && !closed) {
      long ms = config.healthInterval().toMillis();
      healthTask = timer.scheduleWithFixedDelay(this::healthCheck, ms, ms, TimeUnit.MILLISECONDS);
    }
    refill();
  }

  public PoolConfig config() {
    return config;
  }

  // --- handing TDs out ---------------------------------------------------------------------------

  /**
   * An idle attested TD, now ACTIVE and the caller's until it calls {@link #release} or {@link
   * #retire}. Never blocks: the future is complete when a TD was idle, else it completes when a boot
   * finishes (and a replacement boot starts either way). Fails with {@link PoolExhaustedException}
   * when the pool is closed, when every TD it may run is in use, or when boots fail. A future that
   * was not complete at once completes on the pool's boot executor.
   */
  public CompletableFuture<PooledTd> acquire() {
    CompletableFuture<PooledTd> f = new CompletableFuture<>();
    synchronized (this) {
      if (closed) {
        f.completeExceptionally(new PoolExhaustedException("the TD pool is shut down"));
        return f;
      }
      Entry idle = firstIn(TdState.IDLE);
      if (idle != null) {
        idle.state = TdState.ACTIVE;
        f.complete(idle.handle);
      } else {
        String why = PoolPlan.cannotServe(config, counts());
        if (why != null) {
          f.completeExceptionally(new PoolExhaustedException(why));
          return f;
        }
        waiters.add(f);
      }
      refill();
    }
    return f;
  }

  /**
   * The TD {@code id} if it is idle, now ACTIVE and the caller's as with {@link #acquire()}: for a
   * caller that must run in one TD (a sealed invocation, sealed to that TD's key). Empty when no TD
   * by that ID is idle (unknown, booting, in use, draining or stopped). Never blocks.
   */
  public Optional<PooledTd> acquire(String id) {
    synchronized (this) {
      Entry e = entries.get(id);
      if (closed || e == null || e.state != TdState.IDLE) {
        return Optional.empty();
      }
      e.state = TdState.ACTIVE;
      refill();
      return Optional.of(e.handle);
    }
  }

  /**
   * The evidence of TD {@code id}'s latest attestation (docs/receipts.md), as a caller verifies it
   * offline; empty when no TD by that ID runs or it has not been attested yet.
   */
  public Optional<TdEvidence> evidence(String id) {
    AttestedTd a;
    synchronized (this) {
      Entry e = entries.get(id);
      if (e == null || e.state == TdState.STOPPED) {
        return Optional.empty();
      }
      a = e.attested();
    }
    return a == null ? Optional.empty() : a.evidence();
  }

  /**
   * Gives a TD back. A TD that loaded no image and is not due for recycling becomes idle again;
   * any other (RTMR3 only grows, so it is no longer a fresh TD) is stopped and replaced.
   */
  public void release(PooledTd td) {
    synchronized (this) {
      Entry e = td.entry();
      if (e.state != TdState.ACTIVE && e.state != TdState.DRAINING) {
        return;
      }
      String verdict =
          e.state == TdState.DRAINING
              ? e.reason
              : PoolPlan.releaseVerdict(config, e.bootedAt, e.loadedImages.size(), clock.instant());
      if (verdict == null) {
        e.state = TdState.IDLE;
        handOutToWaiter();
      } else {
        stop(e, verdict);
      }
      refill();
    }
  }

  /** Stops a TD now (its holder found it lost or broken, or is done with it) and boots a replacement. */
  public void retire(PooledTd td, String reason) {
    synchronized (this) {
      stop(td.entry(), reason);
      refill();
    }
  }

  /**
   * Drains every TD {@code which} selects: idle ones stop at once, ones in use take no new work and
   * stop when released or after the drain timeout. Replacements boot as usual.
   *
   * @return how many TDs were selected
   */
  public int retireWhere(Predicate<TdInfo> which, String reason) {
    int n = 0;
    synchronized (this) {
      Instant now = clock.instant();
      for (Entry e : List.copyOf(entries.values())) {
        if (e.state == TdState.IDLE || e.state == TdState.ACTIVE) {
          if (which.test(info(e, now))) {
            n++;
            if (e.state == TdState.IDLE) {
              stop(e, reason);
            } else {
              drain(e, reason, now);
            }
          }
        }
      }
      refill();
    }
    return n;
  }

  /**
   * Drains the TDs that loaded any of {@code imageIds}: after a vendor layer update, those whose
   * images hold a stale alias ({@code AliasResolver.staleImages(...).imageIds()}).
   *
   * @return how many TDs were selected
   */
  public int drainTdsHolding(Set<String> imageIds) {
    return retireWhere(
        info -> info.loadedImages().stream().anyMatch(imageIds::contains),
        "drained: holds an image whose vendor layer alias was updated");
  }

  // --- visible state -----------------------------------------------------------------------------

  /** Every TD the pool runs, plus recently stopped ones, for {@code GET /v1/tds}. */
  public synchronized List<TdInfo> tds() {
    Instant now = clock.instant();
    List<TdInfo> out = new ArrayList<>();
    for (Entry e : entries.values()) {
      out.add(info(e, now));
    }
    for (Entry e : stopped) {
      out.add(info(e, now));
    }
    return out;
  }

  /** True once at least {@code min} attested TDs are up (for {@code /readyz}). */
  public synchronized boolean isReady() {
    return PoolPlan.isReady(config, counts());
  }

  /** Stops every TD and fails waiting acquires; the launcher is closed too. */
  @Override
  public void close() {
    List<Entry> all;
    List<CompletableFuture<PooledTd>> waiting;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (healthTask != null) {
        healthTask.cancel(false);
      }
      waiting = List.copyOf(waiters);
      waiters.clear();
      all = List.copyOf(entries.values());
    }
    for (CompletableFuture<PooledTd> w : waiting) {
      w.completeExceptionally(new PoolExhaustedException("the TD pool is shut down"));
    }
    for (Entry e : all) {
      synchronized (this) {
        markStopped(e, "pool shut down");
      }
      closeQuietly(e);
    }
    launcher.close();
  }

  // --- health ------------------------------------------------------------------------------------

  /**
   * One health pass over every attested TD (run every {@code healthInterval} after {@link #start()}):
   * liveness, Inspect, re-attestation, recycling and drain timeouts.
   */
  void healthCheck() {
    List<Entry> check = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      Instant now = clock.instant();
      for (Entry e : List.copyOf(entries.values())) {
        switch (e.state) {
          case IDLE, ACTIVE -> {
            String recycle = PoolPlan.recycleReason(config, e.bootedAt, e.loadedImages.size(), now);
            if (recycle != null && e.state == TdState.IDLE) {
              stop(e, recycle);
            } else if (recycle != null) {
              drain(e, recycle, now);
            } else {
              check.add(e);
            }
          }
          case DRAINING -> {
            if (PoolPlan.drainExpired(config, e.drainingSince, now)) {
              stop(e, e.reason + "; stopped after drainTimeout " + config.drainTimeout());
            } else {
              check.add(e);
            }
          }
          default -> {}
        }
      }
      refill();
    }
    for (Entry e : check) {
      checkOne(e);
    }
  }

  private void checkOne(Entry e) {
    AttestedTd td = e.attested();
    boolean ask;
    synchronized (this) {
      // One Inspect at a time per TD: a slow agent must not collect a pile of them.
      ask = !e.checkInFlight && td.isAlive();
      if (ask) {
        e.checkInFlight = true;
      }
    }
    if (!ask) {
      observe(e, TdHealth.Outcome.PENDING, "");
      return;
    }
    // One Inspect at a time per TD, so a deadline longer than the interval piles nothing up: the
    // checks meanwhile are PENDING. Inspect is retried on UNAVAILABLE within this deadline, so one
    // dropped connection does not count as unreachable.
    Duration deadline = config.inspectTimeout();
    td.agent()
        .withConfig(td.agent().config().withInspect(deadline))
        .inspect(InspectRequest.getDefaultInstance())
        .whenComplete(
            (ok, err) -> {
              synchronized (this) {
                e.checkInFlight = false;
              }
              if (err != null) {
                AgentCallException failed = AgentCallException.from(err);
                observe(e, outcomeOf(failed), "Inspect: " + failed.describe());
              } else if (observe(e, TdHealth.Outcome.ANSWERED, "") && !reattestUnsupported) {
                executeQuietly(() -> reattest(e));
              }
            });
  }

  /** What a failed agent call says about the agent's liveness. */
  static TdHealth.Outcome outcomeOf(AgentCallException failed) {
    if (failed.kind() != AgentCallException.Kind.TRANSPORT_LOST) {
      return TdHealth.Outcome.ANSWERED; // it said no, or failed on its own: it is there
    }
    return failed.code() == io.grpc.Status.Code.DEADLINE_EXCEEDED
        ? TdHealth.Outcome.LATE
        : TdHealth.Outcome.UNREACHABLE;
  }

  /**
   * Applies {@link TdHealth#judge} to one check's outcome; stops the TD when it is lost.
   *
   * @return true while the TD is kept
   */
  private boolean observe(Entry e, TdHealth.Outcome outcome, String detail) {
    AttestedTd td = e.attested();
    boolean alive = td.isAlive();
    boolean failing = td.channelFailing();
    TdHealth.Verdict v;
    synchronized (this) {
      if (e.state == TdState.STOPPED || e.health == null) {
        return false;
      }
      v = TdHealth.judge(config.livenessLimit(), e.health, alive, failing, outcome, clock.instant());
      e.health = v.next();
    }
    if (v.lost() == null) {
      if (outcome == TdHealth.Outcome.LATE || outcome == TdHealth.Outcome.UNREACHABLE) {
        log.info("TD {} kept though slow or unreachable ({} in a row): {}", e.id,
            v.next().unreachableInARow(), detail);
      }
      return true;
    }
    lost(e, v.lost() + (detail.isEmpty() ? "" : "; last check: " + detail));
    return false;
  }

  /**
   * The liveness outcome of a re-attestation that failed for want of an answer (the Report's
   * transport), or null when it failed on its merits (a quote or log that does not verify).
   */
  private static TdHealth.Outcome transportOutcome(Throwable failed) {
    for (Throwable t = failed; t != null; t = t.getCause()) {
      if (t instanceof AgentCallException a && a.kind() == AgentCallException.Kind.TRANSPORT_LOST) {
        return outcomeOf(a);
      }
      if (t instanceof java.util.concurrent.TimeoutException) {
        return TdHealth.Outcome.LATE;
      }
    }
    return null;
  }

  private void executeQuietly(Runnable r) {
    try {
      bootExecutor.execute(r);
    } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
      // the pool is closing; nothing left to check
    }
  }

  private void reattest(Entry e) {
    AttestedTd current = e.attested();
    try {
      AttestedTd fresh = attestor.reattest(current);
      synchronized (this) {
        // Two re-attestations may finish out of order; RTMR3 only grows, so keep the longer log.
        if (e.state != TdState.STOPPED
            && fresh.rtmr3Log().size() >= e.attested().rtmr3Log().size()) {
          e.attested = fresh;
        }
      }
    } catch (UnsupportedOperationException unsupported) {
      synchronized (this) {
        if (!reattestUnsupported) {
          reattestUnsupported = true;
          log.warn("no periodic re-attestation: {}", unsupported.getMessage());
        }
      }
    } catch (TdAttestationException | RuntimeException failed) {
      TdHealth.Outcome transport = transportOutcome(failed);
      if (transport == null) {
        // A quote or log that does not verify is no symptom of load: the TD goes.
        attestationFailures.increment();
        lost(e, "re-attestation failed: " + failed.getMessage());
        return;
      }
      // The Report did not come back: judged like any unanswered check, but a TD must not stay in
      // service unattested for longer than the liveness limit however well it answers Inspect.
      Duration since = Duration.between(current.attestedAt(), clock.instant());
      if (since.compareTo(config.livenessLimit()) >= 0) {
        attestationFailures.increment();
        lost(e, "not re-attested for " + since + " (pool.livenessLimit " + config.livenessLimit()
            + "): " + failed.getMessage());
      } else {
        observe(e, transport, "re-attestation: " + failed.getMessage());
      }
    }
  }

  private void lost(Entry e, String why) {
    synchronized (this) {
      if (e.state == TdState.STOPPED) {
        return;
      }
      log.warn("TD {} removed: {}", e.id, why);
      stop(e, "removed: " + why);
      refill();
    }
  }

  // --- booting -----------------------------------------------------------------------------------

  /** Starts as many boots as {@link PoolPlan#bootsToStart} allows; called under the monitor. */
  private void refill() {
    if (closed) {
      return;
    }
    Instant now = clock.instant();
    if (now.isBefore(nextBootAllowedAt)) {
      if (!refillScheduled) {
        refillScheduled = true;
        long ms = Math.max(1, Duration.between(now, nextBootAllowedAt).toMillis());
        timer.schedule(
            () -> {
              synchronized (this) {
                refillScheduled = false;
                refill();
              }
            },
            ms,
            TimeUnit.MILLISECONDS);
      }
      return;
    }
    int n = PoolPlan.bootsToStart(config, counts());
    for (int i = 0; i < n; i++) {
      Entry e =
          new Entry(
              launcher.backend() + "-" + idPrefix + "-" + sequence.incrementAndGet(),
              launcher.backend(),
              launcher.accelerator(),
              now);
      e.handle = new PooledTd(this, e);
      entries.put(e.id, e);
      boots.increment();
      bootExecutor.execute(() -> boot(e));
    }
  }

  private void boot(Entry e) {
    LaunchedTd launched;
    try {
      launched = launcher.launch(e.id);
    } catch (TdLaunchException | RuntimeException failed) {
      bootFailures.increment();
      bootFailed(e, "TD " + e.id + " did not boot: " + failed.getMessage(), failed);
      return;
    }
    synchronized (this) {
      e.launched = launched;
      if (e.state == TdState.STOPPED) {
        launched.close();
        return;
      }
      e.state = TdState.ATTESTING;
    }
    AttestedTd attested;
    try {
      attested = attestor.attest(launched);
    } catch (TdAttestationException | RuntimeException failed) {
      attestationFailures.increment();
      launched.close();
      bootFailed(e, "TD " + e.id + " failed attestation: " + failed.getMessage(), failed);
      return;
    }
    synchronized (this) {
      e.attested = attested;
      if (e.state == TdState.STOPPED) {
        closeLater(e);
        return;
      }
      e.health = TdHealth.State.attestedAt(clock.instant());
      consecutiveBootFailures = 0;
      nextBootAllowedAt = Instant.MIN;
      bootToReady.record(Duration.between(e.bootedAt, clock.instant()));
      e.state = TdState.IDLE;
      handOutToWaiter();
      refill();
    }
    for (java.util.function.Consumer<PooledTd> l : attestedListeners) {
      try {
        l.accept(e.handle);
      } catch (RuntimeException ex) {
        log.warn("a listener of attested TDs failed for {}: {}", e.id, ex.toString());
      }
    }
  }

  private void bootFailed(Entry e, String message, Throwable cause) {
    log.warn(message);
    synchronized (this) {
      markStopped(e, message);
      consecutiveBootFailures++;
      nextBootAllowedAt = clock.instant().plus(PoolPlan.bootBackoff(config, consecutiveBootFailures));
      // Boots still in flight may serve some waiters; tell the others now rather than let them hang.
      int booting = counts().booting();
      while (waiters.size() > booting) {
        failLater(waiters.pollFirst(), new PoolExhaustedException(message, cause));
      }
      refill();
    }
  }

  /**
   * Gives idle TDs to waiting acquires. The futures complete on {@code bootExecutor}, never under
   * this monitor, so a caller's callback may call back into the pool (or take its own locks) freely.
   */
  private void handOutToWaiter() {
    while (!waiters.isEmpty()) {
      Entry idle = firstIn(TdState.IDLE);
      if (idle == null) {
        return;
      }
      CompletableFuture<PooledTd> w = waiters.pollFirst();
      idle.state = TdState.ACTIVE;
      PooledTd handle = idle.handle;
      bootExecutor.execute(
          () -> {
            if (!w.complete(handle)) {
              release(handle); // the waiter gave up (cancelled or timed out)
            }
          });
    }
  }

  private void failLater(CompletableFuture<PooledTd> w, PoolExhaustedException e) {
    bootExecutor.execute(() -> w.completeExceptionally(e));
  }

  // --- state helpers (under the monitor) ---------------------------------------------------------

  private void drain(Entry e, String reason, Instant now) {
    if (e.state == TdState.ACTIVE) {
      e.state = TdState.DRAINING;
      e.reason = reason;
      e.drainingSince = now;
    }
  }

  private void stop(Entry e, String reason) {
    if (e.state == TdState.STOPPED) {
      return;
    }
    markStopped(e, reason);
    closeLater(e);
  }

  private void markStopped(Entry e, String reason) {
    if (e.state == TdState.STOPPED && entries.get(e.id) == null) {
      return;
    }
    e.state = TdState.STOPPED;
    e.reason = reason;
    e.stoppedAt = clock.instant();
    if (entries.remove(e.id) != null) {
      stopped.addFirst(e);
      while (stopped.size() > STOPPED_KEPT) {
        stopped.removeLast();
      }
    }
  }

  private void closeLater(Entry e) {
    bootExecutor.execute(() -> closeQuietly(e));
  }

  private static void closeQuietly(Entry e) {
    try {
      if (e.attested != null) {
        e.attested.close();
      } else if (e.launched != null) {
        e.launched.close();
      }
    } catch (RuntimeException ex) {
      log.warn("stopping TD {} failed: {}", e.id, ex.toString());
    }
  }

  private Entry firstIn(TdState s) {
    for (Entry e : entries.values()) {
      if (e.state == s) {
        return e;
      }
    }
    return null;
  }

  private synchronized double count(TdState s) {
    if (s == TdState.STOPPED) {
      return 0; // stopped TDs are history, not pool size
    }
    return entries.values().stream().filter(e -> e.state == s).count();
  }

  private PoolPlan.Counts counts() {
    int booting = 0, idle = 0, active = 0, draining = 0;
    for (Entry e : entries.values()) {
      switch (e.state) {
        case BOOTING, ATTESTING -> booting++;
        case IDLE -> idle++;
        case ACTIVE -> active++;
        case DRAINING -> draining++;
        default -> {}
      }
    }
    waiters.removeIf(CompletableFuture::isDone);
    return new PoolPlan.Counts(booting, idle, active, draining, waiters.size());
  }

  private TdInfo info(Entry e, Instant now) {
    Instant end = e.state == TdState.STOPPED && e.stoppedAt != null ? e.stoppedAt : now;
    AttestedTd a = e.attested;
    return new TdInfo(
        e.id,
        e.backend,
        e.accelerator,
        e.state,
        Duration.between(e.bootedAt, end),
        e.loadedImages,
        a == null ? List.of() : a.rtmr3Log(),
        a == null ? null : a.attestedAt(),
        e.reason,
        a == null || a.identityPublicKey().length == 0
            ? ""
            : Receipt.thumbprint(Receipt.ecPublicKey(a.identityPublicKey())),
        a == null ? "" : Base64.getUrlEncoder().withoutPadding().encodeToString(a.sealingPublicKey()));
  }

  // --- called through PooledTd -------------------------------------------------------------------

  synchronized List<String> loadedImages(Entry e) {
    return List.copyOf(e.loadedImages);
  }

  void recordLoaded(Entry e, String imageId) {
    synchronized (this) {
      if (e.loadedImages.contains(imageId) || e.state == TdState.STOPPED) {
        return;
      }
      e.loadedImages.add(imageId);
      if (reattestUnsupported || closed) {
        return;
      }
    }
    // RTMR3 just grew: re-attest now, so the log /v1/tds shows is current and backed by a quote
    // that matches it (a log without such a quote would be the agent's word only).
    executeQuietly(() -> reattest(e));
  }

  void refusedAfterMeasuring(Entry e, String imageId, String why) {
    synchronized (this) {
      e.loadedImages.remove(imageId);
      String reason = "drained: measured image " + imageId + " into RTMR3 and then refused it (" + why
          + "); not shared further";
      if (e.state == TdState.IDLE) {
        stop(e, reason);
      } else {
        drain(e, reason, clock.instant());
      }
      log.warn("TD {} {}", e.id, reason);
      refill();
      if (reattestUnsupported || closed || e.state == TdState.STOPPED) {
        return;
      }
    }
    // RTMR3 grew by the refused image: keep the log /v1/tds shows backed by a current quote.
    executeQuietly(() -> reattest(e));
  }

  synchronized boolean acceptsWork(Entry e) {
    return e.state == TdState.ACTIVE && e.attested().isAlive();
  }

  /** One TD's book-keeping; fields guarded by the pool's monitor. */
  static final class Entry {
    final String id;
    final String backend;
    final String accelerator;
    final Instant bootedAt;
    final List<String> loadedImages = new ArrayList<>();
    TdState state = TdState.BOOTING;
    String reason = "";
    Instant drainingSince;
    Instant stoppedAt;
    LaunchedTd launched;
    volatile AttestedTd attested;
    PooledTd handle;
    TdHealth.State health;
    boolean checkInFlight;

    Entry(String id, String backend, String accelerator, Instant bootedAt) {
      this.id = id;
      this.backend = backend;
      this.accelerator = accelerator;
      this.bootedAt = bootedAt;
    }

    AttestedTd attested() {
      return attested;
    }
  }

}
