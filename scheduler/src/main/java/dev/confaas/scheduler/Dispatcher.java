package dev.confaas.scheduler;

import dev.confaas.scheduler.Instance.State;
import dev.confaas.scheduler.InvocationRejectedException.Reason;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands invocations to warm instances (ARCHITECTURE.md, flow 3) and decides when instances start
 * and stop: per-function bounded queues with deadlines served round-robin ({@link FairQueues}),
 * cold starts shared round-robin, each function's concurrency, keep-alive, and what happens to an
 * instance and its TD when a call fails. Each instance moves through {@link Instance.State}.
 *
 * <p>Decides under its monitor and acts outside it: agent calls, start requests, TDs given back and
 * futures completed are collected while deciding and run after the monitor is released, so a
 * callback that re-enters (a fake agent that answers at once, a caller's continuation) never sees
 * half-made decisions.
 */
final class Dispatcher implements InstanceStarter.Host {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final long MAX_TIMEOUT_MS = 900_000;

  private final FunctionCatalog catalog;
  private final TdSource tds;
  private final InstanceStarter starter;
  private final SchedulerConfig config;
  private final Clock clock;
  private final Executor completions;

  private final FunctionLanes functions;
  private final Map<String, HeldTd> held = new LinkedHashMap<>();
  private final FairQueues<FunctionLane, Pending> queues;
  /**
   * Calls that must run in one TD (sealed ones), oldest first; outside the fair queues because only
   * an instance in that TD may take them. At most {@code queueCapacity} per function.
   */
  private final List<Pending> pinned = new ArrayList<>();
  private List<Runnable> effects = new ArrayList<>();
  private boolean closed;

  /**
   * @param completions completes rejected invocations' futures, off the caller's thread
   */
  Dispatcher(
      FunctionCatalog catalog,
      TdSource tds,
      InstanceStarter starter,
      SchedulerConfig config,
      Clock clock,
      Executor completions,
      MeterRegistry meters) {
    this.catalog = catalog;
    this.tds = tds;
    this.starter = starter;
    this.config = config;
    this.clock = clock;
    this.completions = completions;
    this.queues = new FairQueues<>(config.queueCapacity());
    this.functions = new FunctionLanes(catalog, meters, config.keepAlive(), queues, this);
  }

  private record Pending(
      InvocationRequest request, FunctionLane fn, CompletableFuture<InvocationResult> result, Instant enqueuedAt)
      implements FairQueues.Deadlined {
    @Override
    public Instant deadline() {
      return request.deadline();
    }
  }

  CompletableFuture<InvocationResult> invoke(InvocationRequest request) {
    Optional<DeployedFunction> d;
    try {
      d = catalog.resolve(request.function(), request.version());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (d.isEmpty()) {
      return rejected(Reason.NOT_FOUND,
          "no function \"" + request.function() + "\""
              + (request.version() == null ? "" : " version \"" + request.version() + "\"")
              + " is deployed; deploy it first or check the name", Duration.ZERO);
    }
    CompletableFuture<InvocationResult> result = new CompletableFuture<>();
    List<Runnable> later;
    synchronized (this) {
      Instant now = clock.instant();
      if (closed) {
        return rejected(Reason.SHUTTING_DOWN, "the platform is shutting down", Duration.ZERO);
      }
      if (!request.deadline().isAfter(now)) {
        return rejected(Reason.DEADLINE_EXCEEDED,
            "the invocation's deadline " + request.deadline() + " had passed when it arrived", Duration.ZERO);
      }
      FunctionLane fn = functions.of(d.get(), now);
      fn.lastActive = now;
      Pending p = new Pending(request, fn, result, now);
      if (request.targetTd() != null) {
        CompletableFuture<InvocationResult> refused = pin(p, now);
        if (refused != null) {
          return refused;
        }
      } else {
        Instance idle =
            queues.depth(fn) == 0 && fn.count(State.BUSY) < fn.d.concurrency() ? fn.idleInstance() : null;
        Duration ahead = idle == null ? functions.queuedWork(fn) : Duration.ZERO;
        if (idle != null) {
          run(p, idle);
        } else if (now.plus(ahead).isAfter(request.deadline())) {
          // Shed now with a Retry-After rather than queue a call that would wait out its deadline
          // and end in a 504 (issue 11, defect 7: overload degrades into 429, not timeouts).
          Duration retry = functions.retryAfter(fn);
          return rejected(Reason.OVERLOADED,
              "function \"" + fn.d.name() + "\" is at its concurrency limit (" + fn.d.concurrency()
                  + ") with about " + ahead.toMillis() + " ms of calls ahead, past this call's deadline;"
                  + " retry after " + retry.toSeconds() + " s", retry);
        } else if (!queues.offer(fn, p)) {
          Duration retry = functions.retryAfter(fn);
          return rejected(Reason.OVERLOADED,
              "function \"" + fn.d.name() + "\" is at its concurrency limit (" + fn.d.concurrency()
                  + ") with " + config.queueCapacity() + " invocations queued; retry after "
                  + retry.toSeconds() + " s", retry);
        } else {
          dispatch();
        }
      }
      later = takeEffects();
    }
    runAll(later);
    return result;
  }

  private static CompletableFuture<InvocationResult> rejected(Reason r, String message, Duration retry) {
    return CompletableFuture.failedFuture(new InvocationRejectedException(r, message, retry));
  }

  /**
   * Takes a call that must run in TD {@code targetTd}: holds that TD (taking it from the pool when
   * it is idle there) and waits for an instance of the function in it. Returns a failed future
   * when the call cannot be taken, else null. Under the monitor.
   */
  private CompletableFuture<InvocationResult> pin(Pending p, Instant now) {
    String tdId = p.request().targetTd();
    HeldTd td = held.get(tdId);
    if (td == null) {
      Optional<TdSource.LeasedTd> idle = tds.acquire(tdId);
      if (idle.isPresent()) {
        td = new HeldTd(idle.get());
        held.put(tdId, td);
      }
    }
    if (td == null || !td.lease.acceptsWork()) {
      return rejected(Reason.TD_GONE, tdGone(tdId), Duration.ZERO);
    }
    long waiting = pinned.stream().filter(q -> q.fn() == p.fn()).count();
    if (waiting >= config.queueCapacity()) {
      Duration retry = functions.retryAfter(p.fn());
      return rejected(Reason.OVERLOADED,
          "function \"" + p.fn().d.name() + "\" has " + waiting + " invocations waiting for an"
              + " instance in a given TD; retry after " + retry.toSeconds() + " s", retry);
    }
    pinned.add(p);
    dispatch();
    return null;
  }

  private static String tdGone(String tdId) {
    return "TD " + tdId + " is not in service (stopped, lost, draining, or in no pool here); fetch"
        + " fresh evidence (GET /v1/functions/NAME/evidence) and seal the request again to a TD it lists";
  }

  /**
   * Runs pinned calls on idle instances in their TDs, starting one there when none is live; refuses
   * those whose TD went. Before the fair queues, so an instance started for a pinned call serves it.
   */
  private void dispatchPinned(Instant now) {
    for (Pending p : List.copyOf(pinned)) {
      String tdId = p.request().targetTd();
      FunctionLane fn = p.fn();
      HeldTd td = held.get(tdId);
      if (!p.request().deadline().isAfter(now)) {
        pinned.remove(p);
        reject(p, Reason.DEADLINE_EXCEEDED,
            "the deadline passed after " + Duration.between(p.enqueuedAt(), now).toMillis()
                + " ms waiting for an instance of function \"" + fn.d.name() + "\" in TD " + tdId,
            Duration.ZERO);
      } else if (closed) {
        pinned.remove(p);
        reject(p, Reason.SHUTTING_DOWN, "the platform is shutting down", Duration.ZERO);
      } else if (td == null || !td.lease.acceptsWork()) {
        pinned.remove(p);
        reject(p, Reason.TD_GONE, tdGone(tdId), Duration.ZERO);
      } else {
        Instance idle = fn.count(State.BUSY) < fn.d.concurrency() ? fn.idleInstanceIn(tdId) : null;
        if (idle != null) {
          pinned.remove(p);
          run(p, idle);
        } else if (!fn.hasLiveIn(tdId)) {
          if (fn.live() < fn.d.concurrency()) {
            Instance s = new Instance(fn, now, tdId);
            fn.instances.add(s);
            effects.add(() -> starter.start(s, this));
          } else {
            pinned.remove(p);
            Duration retry = functions.retryAfter(fn);
            reject(p, Reason.OVERLOADED,
                "function \"" + fn.d.name() + "\" is at its concurrency limit (" + fn.d.concurrency()
                    + ") and none of its instances is in TD " + tdId + "; retry after "
                    + retry.toSeconds() + " s", retry);
          }
        }
      }
    }
  }

  /** Whether a pinned call waits for TD {@code tdId} (so it is held even without instances). */
  private boolean awaitedByPinned(HeldTd td) {
    for (Pending p : pinned) {
      if (p.request().targetTd().equals(td.id())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Makes sure the function has a warm instance, starting one when none is live, without an event:
   * a caller that wants a TD's evidence before it seals an event to it asks this first. Completes
   * when an instance is warm; fails with {@link InvocationRejectedException} as an invocation would.
   */
  CompletableFuture<Void> prepare(String function, String version) {
    Optional<DeployedFunction> d;
    try {
      d = catalog.resolve(function, version);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (d.isEmpty()) {
      return CompletableFuture.failedFuture(new InvocationRejectedException(Reason.NOT_FOUND,
          "no function \"" + function + "\"" + (version == null ? "" : " version \"" + version + "\"")
              + " is deployed; deploy it first or check the name"));
    }
    CompletableFuture<Void> ready = new CompletableFuture<>();
    List<Runnable> later;
    synchronized (this) {
      Instant now = clock.instant();
      if (closed) {
        return CompletableFuture.failedFuture(
            new InvocationRejectedException(Reason.SHUTTING_DOWN, "the platform is shutting down"));
      }
      FunctionLane fn = functions.of(d.get(), now);
      fn.lastActive = now;
      if (fn.working() > 0) {
        return CompletableFuture.completedFuture(null);
      }
      if (fn.warmWaiters.size() >= config.queueCapacity()) {
        return CompletableFuture.failedFuture(new InvocationRejectedException(Reason.OVERLOADED,
            "function \"" + fn.d.name() + "\" already has " + fn.warmWaiters.size()
                + " callers waiting for its first instance; retry in a second", Duration.ofSeconds(1)));
      }
      fn.warmWaiters.add(ready);
      if (fn.count(State.STARTING) == 0) {
        Instance s = new Instance(fn, now);
        fn.instances.add(s);
        effects.add(() -> starter.start(s, this));
      }
      later = takeEffects();
    }
    runAll(later);
    return ready;
  }

  /** The TDs where the deployment {@code function} at {@code imageId} has a warm instance. */
  synchronized List<String> tdsWithWarmInstances(String function, String imageId) {
    List<String> out = new ArrayList<>();
    for (FunctionLane fn : functions.all()) {
      if (fn.d.name().equals(function) && fn.d.imageId().equals(imageId)) {
        for (Instance i : fn.instances) {
          if (i.state().isWarm() && i.td.lease.acceptsWork() && !out.contains(i.td.id())) {
            out.add(i.td.id());
          }
        }
      }
    }
    return out;
  }

  private void completeWarmWaiters(FunctionLane fn, InvocationRejectedException failure) {
    if (fn.warmWaiters.isEmpty()) {
      return;
    }
    List<CompletableFuture<Void>> waiting = List.copyOf(fn.warmWaiters);
    fn.warmWaiters.clear();
    effects.add(() -> {
      for (CompletableFuture<Void> w : waiting) {
        if (failure == null) {
          w.complete(null);
        } else {
          w.completeExceptionally(failure);
        }
      }
    });
  }

  /** Expires queued calls, stops instances idle past keep-alive, gives back TDs, forgets functions. */
  void tick() {
    List<Runnable> later;
    synchronized (this) {
      Instant now = clock.instant();
      for (HeldTd td : List.copyOf(held.values())) {
        if (!td.lease.isAlive()) {
          giveBack(td, false, "lost: its process exited");
        } else if (!td.lease.acceptsWork() && td.count(State.BUSY) == 0 && td.count(State.STARTING) == 0) {
          giveBack(td, false, "the pool is draining it");
        }
      }
      for (FunctionLane fn : functions.all()) {
        for (Instance i : List.copyOf(fn.instances)) {
          if (i.is(State.IDLE) && !now.isBefore(i.lastUsed.plus(config.keepAlive()))) {
            stop(i);
          }
        }
      }
      for (HeldTd td : List.copyOf(held.values())) {
        if (td.live() == 0 && !awaitedByPinned(td)) {
          giveBack(td, true, "no instances left after keep-alive");
        }
      }
      functions.forgetQuiet(now);
      dispatch();
      later = takeEffects();
    }
    runAll(later);
  }

  /** Stops taking invocations, fails queued ones, and gives back every TD without a call running. */
  void close() {
    List<Runnable> later;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Pending p : queues.drainAll()) {
        reject(p, Reason.SHUTTING_DOWN, "the platform is shutting down", Duration.ZERO);
      }
      for (Pending p : pinned) {
        reject(p, Reason.SHUTTING_DOWN, "the platform is shutting down", Duration.ZERO);
      }
      pinned.clear();
      for (FunctionLane fn : functions.all()) {
        completeWarmWaiters(fn, new InvocationRejectedException(Reason.SHUTTING_DOWN,
            "the platform is shutting down"));
      }
      for (HeldTd td : List.copyOf(held.values())) {
        if (td.count(State.BUSY) == 0) {
          giveBack(td, false, "scheduler shut down");
        }
      }
      later = takeEffects();
    }
    runAll(later);
  }

  /** Where each warm instance runs, by TD: {@code function/instanceId}. */
  synchronized Map<String, List<String>> instancesByTd() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (HeldTd td : held.values()) {
      List<String> names = new ArrayList<>();
      for (Instance i : td.instances) {
        if (i.state().isWarm()) {
          names.add(i.fn.d.name() + "/" + i.id);
        }
      }
      out.put(td.id(), names);
    }
    return out;
  }

  // --- dispatching (under the monitor) -----------------------------------------------------------

  private void dispatch() {
    Instant now = clock.instant();
    for (Pending p : queues.expire(now)) {
      reject(p, Reason.DEADLINE_EXCEEDED,
          "the deadline passed after " + Duration.between(p.enqueuedAt(), now).toMillis()
              + " ms in the queue of function \"" + p.fn().d.name() + "\" before an instance was free",
          Duration.ZERO);
    }
    dispatchPinned(now);
    if (closed) {
      return;
    }
    Pending p;
    while ((p = queues.poll(fn -> fn.idleInstance() != null && fn.count(State.BUSY) < fn.d.concurrency()))
        != null) {
      run(p, p.fn().idleInstance());
    }
    int starting = 0;
    for (FunctionLane fn : functions.all()) {
      starting += fn.count(State.STARTING);
    }
    // Cold starts are the scarce resource (TDs, load bandwidth): share them round-robin.
    List<FunctionLane> grants =
        FairQueues.shareRoundRobin(
            queues.keysInTurn(),
            fn -> {
              int s = fn.count(State.STARTING);
              return Math.min(queues.depth(fn) - s, fn.d.concurrency() - fn.working() - s);
            },
            config.maxColdStartsInFlight() - starting);
    for (FunctionLane fn : grants) {
      Instance s = new Instance(fn, now);
      fn.instances.add(s);
      effects.add(() -> starter.start(s, this));
    }
  }

  private void run(Pending p, Instance inst) {
    Instant now = clock.instant();
    long left = Duration.between(now, p.request().deadline()).toMillis();
    if (left <= 0) {
      reject(p, Reason.DEADLINE_EXCEEDED, "the deadline passed before an instance was free", Duration.ZERO);
      return;
    }
    inst.moveTo(State.BUSY);
    Duration timeout =
        Duration.ofMillis(Math.max(1, Math.min(Math.min(inst.fn.d.timeout().toMillis(), left), MAX_TIMEOUT_MS)));
    TdAgent agent = inst.td.lease.agent();
    String id = inst.id;
    effects.add(
        () -> {
          CompletableFuture<TdAgent.Reply> call;
          try {
            call = agent.invoke(id, p.request(), timeout);
          } catch (RuntimeException e) {
            call = CompletableFuture.failedFuture(e);
          }
          call.whenComplete((r, err) -> invoked(p, inst, now, r, err));
        });
  }

  private void invoked(Pending p, Instance inst, Instant sent, TdAgent.Reply r, Throwable err) {
    InvocationResult result;
    List<Runnable> later;
    synchronized (this) {
      FunctionLane fn = inst.fn;
      HeldTd td = inst.td;
      Instant now = clock.instant();
      Duration took = Duration.between(sent, now);
      fn.meters.latency.record(took);
      fn.avgMillis = 0.8 * fn.avgMillis + 0.2 * Math.max(1, took.toMillis());
      fn.lastActive = now;
      if (err != null) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        TdAgent.CallFailed failed =
            cause instanceof TdAgent.CallFailed f
                ? f
                : new TdAgent.CallFailed(TdAgent.CallFailed.Kind.INSTANCE_GONE, cause.toString(), cause);
        boolean lost = failed.kind() == TdAgent.CallFailed.Kind.TD_LOST;
        boolean late = failed.kind() == TdAgent.CallFailed.Kind.TIMED_OUT;
        String why =
            lost ? "TD " + td.id() + " was lost mid-invocation: " + failed.getMessage()
                : late ? "Task timed out: no outcome within the function's timeout of "
                    + fn.d.timeout().toMillis() + " ms plus the scheduler's grace (" + failed.getMessage()
                    + "); the instance was given up, TD " + td.id() + " is kept"
                : "the agent failed the call: " + failed.getMessage();
        result = new InvocationResult(p.request().requestId(), null,
            new FunctionError(
                lost ? FunctionError.Kind.TD_LOST : late ? FunctionError.Kind.TIMED_OUT : FunctionError.Kind.CRASHED,
                lost ? "Runtime.TdLost" : late ? "Sandbox.Timedout" : "Runtime.AgentError", why, -1),
            td.id(), fn.d.imageId(), inst.id, took);
        switch (failed.kind()) {
          case TD_LOST -> giveBack(td, false, "lost: " + why);
          case TIMED_OUT -> {
            // The agent kills the instance at its own deadline; ask it too, and forget it now.
            remove(inst);
            TdAgent agent = td.lease.agent();
            String id = inst.id;
            effects.add(() -> agent.kill(id));
          }
          case REFUSED -> idle(inst, now); // a refused request leaves the instance warm
          case INSTANCE_GONE -> remove(inst);
          case SEALED_REFUSED -> {
            // The platform did not run it: a rejection, not a function error; the instance is warm.
            idle(inst, now);
            result = null;
            reject(p, Reason.SEALED_REQUEST_REFUSED,
                "the agent in TD " + td.id() + " refused the sealed request for function \""
                    + fn.d.name() + "\" (image " + fn.d.imageId() + "): it was sealed for another"
                    + " function, TD or key, or altered on the way (" + failed.getMessage() + ")",
                Duration.ZERO);
          }
        }
      } else {
        result = new InvocationResult(r.requestId(), r.payload(), r.error(), td.id(), fn.d.imageId(),
            r.instanceId(), r.duration(), r.receipt(), r.sealedResponse());
        if (r.error() != null && endsInstance(r.error().kind())) {
          remove(inst); // the agent's instance is gone (agent.proto: never restarted behind our back)
        } else {
          idle(inst, now);
        }
      }
      if (closed && held.containsKey(td.id()) && td.count(State.BUSY) == 0) {
        giveBack(td, false, "scheduler shut down");
      }
      dispatch();
      later = takeEffects();
    }
    runAll(later);
    if (result != null) {
      p.result().complete(result);
    }
  }

  /**
   * Whether the agent's instance is gone after this outcome (agent.proto {@code FunctionError.Kind}):
   * the scheduler drops exactly the instances the agent dropped, so its Starts always fit.
   */
  private static boolean endsInstance(FunctionError.Kind kind) {
    return kind != FunctionError.Kind.HANDLED && kind != FunctionError.Kind.RESPONSE_TOO_LARGE;
  }

  // --- starting: what the instance starter asks ---------------------------------------------------

  @Override
  public synchronized List<InstanceStarter.Candidate> candidates(Instance s) {
    List<InstanceStarter.Candidate> out = new ArrayList<>();
    for (HeldTd td : held.values()) {
      if (td.lease.acceptsWork()) {
        out.add(new InstanceStarter.Candidate(
            td.id(), td.imagesWithReservations(), td.live(), td.liveOfImage(s.fn.d.imageId())));
      }
    }
    return out;
  }

  @Override
  public synchronized TdSource.LeasedTd reserve(Instance s, String tdId, List<ImageFacts> chain) {
    HeldTd td = held.get(tdId);
    if (td == null || closed || !s.is(State.STARTING)) {
      return null;
    }
    place(s, td, chain);
    return td.lease;
  }

  @Override
  public synchronized boolean adopt(Instance s, TdSource.LeasedTd lease, List<ImageFacts> chain) {
    if (closed || !s.is(State.STARTING)) {
      return false;
    }
    HeldTd td = new HeldTd(lease);
    held.put(lease.id(), td);
    place(s, td, chain);
    return true;
  }

  private static void place(Instance s, HeldTd td, List<ImageFacts> chain) {
    s.td = td;
    s.chain = List.copyOf(chain);
    td.instances.add(s);
  }

  @Override
  public boolean started(Instance s, String instanceId) {
    boolean kept;
    List<Runnable> later;
    synchronized (this) {
      kept = s.is(State.STARTING) && !closed && held.containsKey(s.td.id());
      if (kept) {
        s.id = instanceId;
        s.lastUsed = clock.instant();
        s.moveTo(State.IDLE);
        completeWarmWaiters(s.fn, null);
        dispatch();
      } else {
        s.id = instanceId;
        failStart(s, closed ? "the scheduler shut down" : "its TD was lost", Duration.ZERO,
            closed ? Reason.SHUTTING_DOWN : Reason.TD_GONE);
      }
      later = takeEffects();
    }
    runAll(later);
    return kept;
  }

  @Override
  public void startFailed(Instance s, String why, Duration retryAfter, Reason reason) {
    List<Runnable> later;
    synchronized (this) {
      failStart(s, why, retryAfter, reason);
      later = takeEffects();
    }
    runAll(later);
  }

  /**
   * @param reason what the calls waiting for it are rejected with: those pinned to its target TD
   *     when it had one, else the function's queue once no instance is left
   */
  private void failStart(Instance s, String why, Duration retryAfter, Reason reason) {
    log.warn("could not start an instance of {}{}: {}", s.fn.d.name(),
        s.target == null ? "" : " in TD " + s.target, why);
    FunctionLane fn = s.fn;
    HeldTd td = s.td;
    remove(s);
    if (s.target != null) {
      for (Pending p : List.copyOf(pinned)) {
        if (p.fn() == fn && p.request().targetTd().equals(s.target)) {
          pinned.remove(p);
          reject(p, reason,
              "could not start an instance of function \"" + fn.d.name() + "\" in TD " + s.target
                  + ": " + why, retryAfter);
        }
      }
    }
    if (td != null && held.containsKey(td.id()) && td.live() == 0 && !awaitedByPinned(td)) {
      giveBack(td, true, "an instance start failed on it: " + why);
    }
    if (s.target == null && !fn.hasLive()) {
      completeWarmWaiters(fn, new InvocationRejectedException(reason,
          "could not start an instance of function \"" + fn.d.name() + "\": " + why, retryAfter));
      for (Pending p : queues.drain(fn)) {
        reject(p, reason,
            "could not start an instance of function \"" + fn.d.name() + "\": " + why, retryAfter);
      }
    }
    dispatch();
  }

  // --- removing things (under the monitor) -------------------------------------------------------

  private void idle(Instance i, Instant now) {
    if (i.is(State.BUSY)) {
      i.moveTo(State.IDLE);
      i.lastUsed = now;
    }
  }

  private void stop(Instance i) {
    i.moveTo(State.STOPPING);
    TdAgent agent = i.td.lease.agent();
    String id = i.id;
    effects.add(() -> agent.kill(id).whenComplete((ok, err) -> stopped(i)));
  }

  private synchronized void stopped(Instance i) {
    remove(i);
  }

  private void remove(Instance i) {
    if (!i.is(State.GONE)) {
      i.moveTo(State.GONE);
    }
    i.fn.instances.remove(i);
    if (i.td != null) {
      i.td.instances.remove(i);
    }
    i.fn.lastActive = clock.instant();
  }

  /** Gives a TD back to the source: released (may serve again) or retired; its instances are gone. */
  private void giveBack(HeldTd td, boolean release, String why) {
    if (held.remove(td.id()) == null) {
      return;
    }
    for (Instance i : List.copyOf(td.instances)) {
      remove(i);
    }
    log.debug("TD {} given back: {}", td.id(), why);
    effects.add(release ? () -> tds.release(td.lease) : () -> tds.retire(td.lease, why));
  }

  private void reject(Pending p, Reason reason, String message, Duration retryAfter) {
    CompletableFuture<InvocationResult> f = p.result();
    InvocationRejectedException e = new InvocationRejectedException(reason, message, retryAfter);
    effects.add(
        () -> {
          try {
            completions.execute(() -> f.completeExceptionally(e));
          } catch (java.util.concurrent.RejectedExecutionException shutDown) {
            f.completeExceptionally(e);
          }
        });
  }

  private static void runAll(List<Runnable> later) {
    for (Runnable r : later) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("a scheduler action failed: {}", e.toString(), e);
      }
    }
  }

  private List<Runnable> takeEffects() {
    List<Runnable> out = effects;
    effects = new ArrayList<>();
    return out;
  }

  /** Function versions the dispatcher keeps state and meters for. */
  synchronized int functionsKnown() {
    return functions.size();
  }
}
