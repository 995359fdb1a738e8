package dev.confaas.scheduler;

import dev.confaas.pool.GrpcCalls;
import com.google.protobuf.ByteString;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageRepository;
import dev.confaas.image.SignedManifest;
import dev.confaas.policy.PolicyImage;
import dev.confaas.pool.PoolExhaustedException;
import dev.confaas.pool.PooledTd;
import dev.confaas.pool.WarmPool;
import dev.confaas.runtime.api.v1.InvokeRequest;
import dev.confaas.runtime.api.v1.InvokeResponse;
import dev.confaas.runtime.api.v1.KillRequest;
import dev.confaas.runtime.api.v1.KillResponse;
import dev.confaas.runtime.api.v1.TdAgentGrpc;
import dev.confaas.scheduler.InvocationRejectedException.Reason;
import dev.confaas.vendor.PolicyImages;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs invocations on function instances in attested TDs (ARCHITECTURE.md, flow 3).
 *
 * <ul>
 *   <li>An idle warm instance takes an invocation at once. Otherwise it waits in its function's
 *       bounded queue (full: OVERLOADED with a Retry-After estimate; deadline passed while queued:
 *       DEADLINE_EXCEEDED), and a new instance starts when the queue is deeper than the instances
 *       starting for it, up to the function's {@code concurrency}.
 *   <li>A new instance goes where {@link Placement} says: a TD in use whose images and the
 *       function's accept each other and that has room, preferring one holding the same signer's
 *       images, else a fresh attested TD from the {@link WarmPool}. Loading is AddManifest for each
 *       dependency then the function image, AddBlob for missing layers ({@link AgentLoader}), then
 *       Start.
 *   <li>One invocation at a time per instance (Lambda semantics). Queues are served round-robin and
 *       cold starts are shared round-robin ({@link FairQueues}), so a busy function cannot starve
 *       others.
 *   <li>An instance idle for {@code keepAlive} is stopped; a TD left without instances goes back to
 *       the pool, which retires it (RTMR3 is append-only). A TD lost mid-invocation fails that call
 *       with {@link FunctionError.Kind#TD_LOST} and is retired; the pool boots a replacement.
 * </ul>
 *
 * <p>Never blocks a caller: invocations are async gRPC calls; repository reads and image loads run
 * on {@code workers}. State is guarded by this object's monitor; futures are completed outside it.
 */
public final class Scheduler implements FunctionInvoker, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
  private static final int MAX_TIMEOUT_MS = 900_000;
  private static final int SIGTERM = 15;

  private final FunctionCatalog catalog;
  private final ImageRepository repository;
  private final WarmPool pool;
  private final SchedulerConfig config;
  private final Clock clock;
  private final ScheduledExecutorService timer;
  private final Executor workers;
  private final MeterRegistry meters;
  private final AgentLoader loader;

  private final Map<String, Fn> functions = new LinkedHashMap<>();
  private final Map<String, Td> tds = new LinkedHashMap<>();
  private final FairQueues<Fn, Pending> queues;
  private final Map<String, ImageFacts> images = new ConcurrentHashMap<>();
  private int coldStartsInFlight;
  private boolean closed;
  private ScheduledFuture<?> tickTask;

  private final Counter placementsExisting;
  private final Counter placementsFresh;
  private final Counter coldLoads;

  /**
   * @param catalog resolves function names to deployments
   * @param repository the platform's image repository (manifests, signatures, certificates, blobs)
   * @param pool where fresh attested TDs come from and go back to
   * @param config queueing, placement and scaling limits
   * @param clock the time for deadlines, keep-alive and latency
   * @param timer runs the periodic {@link #tick()}
   * @param workers runs repository reads and image loads (blocking)
   * @param meters queue depth, in-flight, placements, cold loads, invocation latency
   */
  public Scheduler(
      FunctionCatalog catalog,
      ImageRepository repository,
      WarmPool pool,
      SchedulerConfig config,
      Clock clock,
      ScheduledExecutorService timer,
      Executor workers,
      MeterRegistry meters) {
    this.catalog = catalog;
    this.repository = repository;
    this.pool = pool;
    this.config = config;
    this.clock = clock;
    this.timer = timer;
    this.workers = workers;
    this.meters = meters;
    this.loader = new AgentLoader(repository, config.loadTimeout());
    this.queues = new FairQueues<>(config.queueCapacity());
    placementsExisting = placements("existing_td");
    placementsFresh = placements("fresh_td");
    coldLoads =
        Counter.builder("confaas.scheduler.cold.loads")
            .description("images loaded into a TD (AddManifest that measured a new image)")
            .register(meters);
  }

  private Counter placements(String target) {
    return Counter.builder("confaas.scheduler.placements")
        .tag("target", target)
        .description("function instances placed, on a TD already in use or a fresh one")
        .register(meters);
  }

  /** Starts the periodic tick (deadlines of queued calls, keep-alive, draining TDs). */
  public synchronized void start() {
    if (tickTask == null && !closed) {
      long ms = config.tick().toMillis();
      tickTask = timer.scheduleWithFixedDelay(this::tick, ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public CompletableFuture<InvocationResult> invoke(InvocationRequest request) {
    Optional<DeployedFunction> d;
    try {
      d = catalog.resolve(request.function(), request.version());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (d.isEmpty()) {
      return CompletableFuture.failedFuture(
          new InvocationRejectedException(
              Reason.NOT_FOUND,
              "no function \""
                  + request.function()
                  + "\""
                  + (request.version() == null ? "" : " version \"" + request.version() + "\"")
                  + " is deployed; deploy it first or check the name"));
    }
    Pending p = new Pending(request, null, new CompletableFuture<>(), clock.instant());
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(
            new InvocationRejectedException(Reason.SHUTTING_DOWN, "the platform is shutting down"));
      }
      if (!request.deadline().isAfter(p.enqueuedAt())) {
        return CompletableFuture.failedFuture(
            new InvocationRejectedException(
                Reason.DEADLINE_EXCEEDED,
                "the invocation's deadline " + request.deadline() + " had passed when it arrived"));
      }
      Fn fn = functions.computeIfAbsent(key(d.get()), k -> newFn(d.get()));
      p = new Pending(request, fn, p.result(), p.enqueuedAt());
      Instance idle = fn.queueEmptyAndIdle(queues);
      if (idle != null) {
        run(p, idle);
      } else if (!queues.offer(fn, p)) {
        Duration retry = retryAfter(fn);
        return CompletableFuture.failedFuture(
            new InvocationRejectedException(
                Reason.OVERLOADED,
                "function \""
                    + fn.d.name()
                    + "\" is at its concurrency limit ("
                    + fn.d.concurrency()
                    + ") with "
                    + config.queueCapacity()
                    + " invocations queued; retry after "
                    + retry.toSeconds()
                    + " s",
                retry));
      } else {
        dispatch();
      }
    }
    return p.result();
  }

  /** Stops taking invocations, fails queued ones, and gives every TD without work back. */
  @Override
  public void close() {
    List<Pending> queued;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (tickTask != null) {
        tickTask.cancel(false);
      }
      queued = queues.drainAll();
      for (Td td : List.copyOf(tds.values())) {
        if (td.inFlight == 0) {
          giveBack(td, false, "scheduler shut down");
        }
      }
    }
    for (Pending p : queued) {
      p.result()
          .completeExceptionally(
              new InvocationRejectedException(Reason.SHUTTING_DOWN, "the platform is shutting down"));
    }
  }

  // --- the periodic look-around ------------------------------------------------------------------

  /** Expires queued calls, stops instances idle past keep-alive, gives back idle or draining TDs. */
  void tick() {
    synchronized (this) {
      Instant now = clock.instant();
      for (Td td : List.copyOf(tds.values())) {
        if (!td.pooled.isAlive()) {
          loseTd(td, "its process exited");
        } else if (!td.pooled.acceptsWork() && td.inFlight == 0 && td.reserved == 0) {
          giveBack(td, false, "the pool is draining it");
        }
      }
      for (Fn fn : functions.values()) {
        for (Instance i : List.copyOf(fn.instances)) {
          if (!i.busy && !now.isBefore(i.lastUsed.plus(config.keepAlive()))) {
            removeInstance(i);
            kill(i);
          }
        }
      }
      for (Td td : List.copyOf(tds.values())) {
        if (td.instances.isEmpty() && td.reserved == 0 && td.inFlight == 0) {
          giveBack(td, true, "no instances left after keep-alive");
        }
      }
      dispatch();
    }
  }

  // --- dispatching (under the monitor) -----------------------------------------------------------

  private void dispatch() {
    Instant now = clock.instant();
    for (Pending p : queues.expire(now)) {
      reject(p, Reason.DEADLINE_EXCEEDED,
          "the deadline passed after "
              + Duration.between(p.enqueuedAt(), now).toMillis()
              + " ms in the queue of function \""
              + p.fn().d.name()
              + "\" before an instance was free");
    }
    if (closed) {
      return;
    }
    Pending p;
    while ((p = queues.poll(fn -> fn.idleInstance() != null && fn.inFlight < fn.d.concurrency()))
        != null) {
      run(p, p.fn().idleInstance());
    }
    // Cold starts are the scarce resource (TDs, load bandwidth): share them round-robin.
    List<Fn> grants =
        FairQueues.shareRoundRobin(
            queues.keysInTurn(),
            fn ->
                Math.min(
                    queues.depth(fn) - fn.starting,
                    fn.d.concurrency() - fn.workingInstances() - fn.starting),
            config.maxColdStartsInFlight() - coldStartsInFlight);
    for (Fn fn : grants) {
      startInstance(fn);
    }
  }

  private void run(Pending p, Instance inst) {
    Instant now = clock.instant();
    long left = Duration.between(now, p.request().deadline()).toMillis();
    if (left <= 0) {
      reject(p, Reason.DEADLINE_EXCEEDED, "the deadline passed before an instance was free");
      return;
    }
    Fn fn = inst.fn;
    Td td = inst.td;
    inst.busy = true;
    fn.inFlight++;
    td.inFlight++;
    long timeoutMs = Math.max(1, Math.min(Math.min(fn.d.timeout().toMillis(), left), MAX_TIMEOUT_MS));
    InvokeRequest req =
        InvokeRequest.newBuilder()
            .setInstanceId(inst.id)
            .setPayload(ByteString.copyFrom(p.request().payload()))
            .setTimeoutMs((int) timeoutMs)
            .setRequestId(p.request().requestId())
            .setTraceId(p.request().traceId())
            .build();
    CompletableFuture<InvokeResponse> call = new CompletableFuture<>();
    try {
      TdAgentGrpc.newStub(td.pooled.channel())
          .withDeadlineAfter(timeoutMs + config.invokeGrace().toMillis(), TimeUnit.MILLISECONDS)
          .invoke(req, GrpcCalls.unary(call));
    } catch (RuntimeException e) {
      call.completeExceptionally(e);
    }
    call.whenComplete((r, err) -> invoked(p, inst, now, r, err));
  }

  private void invoked(Pending p, Instance inst, Instant sent, InvokeResponse r, Throwable err) {
    InvocationResult result;
    synchronized (this) {
      Fn fn = inst.fn;
      Td td = inst.td;
      Instant now = clock.instant();
      inst.busy = false;
      inst.lastUsed = now;
      fn.inFlight--;
      td.inFlight--;
      Duration took = Duration.between(sent, now);
      fn.latency.record(took);
      fn.avgMillis = 0.8 * fn.avgMillis + 0.2 * Math.max(1, took.toMillis());
      if (err != null) {
        boolean lost = !td.pooled.isAlive() || isTransportLoss(GrpcCalls.code(err));
        String why =
            (lost ? "TD " + td.pooled.id() + " was lost mid-invocation: " : "the agent failed the call: ")
                + GrpcCalls.describe(err);
        result =
            new InvocationResult(
                p.request().requestId(),
                null,
                new FunctionError(
                    lost ? FunctionError.Kind.TD_LOST : FunctionError.Kind.CRASHED,
                    lost ? "Runtime.TdLost" : "Runtime.AgentError",
                    why,
                    -1),
                td.pooled.id(),
                fn.d.imageId(),
                inst.id,
                took);
        Status.Code code = GrpcCalls.code(err);
        if (lost) {
          loseTd(td, why);
        } else if (code != Status.Code.INVALID_ARGUMENT && code != Status.Code.RESOURCE_EXHAUSTED) {
          removeInstance(inst); // the agent lost track of it; a refused request leaves it warm
        }
      } else {
        FunctionError error = r.hasError() ? toError(r.getError()) : null;
        result =
            new InvocationResult(
                r.getRequestId().isEmpty() ? p.request().requestId() : r.getRequestId(),
                error == null ? r.getPayload().toByteArray() : null,
                error,
                td.pooled.id(),
                fn.d.imageId(),
                r.getInstanceId().isEmpty() ? inst.id : r.getInstanceId(),
                Duration.ofNanos(r.getDurationUs() * 1000));
        if (error != null && error.kind() != FunctionError.Kind.HANDLED) {
          removeInstance(inst); // the agent killed or lost it; it is not warm any more
        }
      }
      if (closed && td.inFlight == 0 && tds.containsKey(td.pooled.id())) {
        giveBack(td, false, "scheduler shut down");
      }
      dispatch();
    }
    p.result().complete(result);
  }

  private static boolean isTransportLoss(Status.Code code) {
    return code == Status.Code.UNAVAILABLE
        || code == Status.Code.CANCELLED
        || code == Status.Code.DEADLINE_EXCEEDED
        || code == Status.Code.UNKNOWN;
  }

  private static FunctionError toError(dev.confaas.runtime.api.v1.FunctionError e) {
    FunctionError.Kind kind =
        switch (e.getKind()) {
          case HANDLED -> FunctionError.Kind.HANDLED;
          case TIMED_OUT -> FunctionError.Kind.TIMED_OUT;
          case INIT_FAILED -> FunctionError.Kind.INIT_FAILED;
          case RESPONSE_TOO_LARGE -> FunctionError.Kind.RESPONSE_TOO_LARGE;
          default -> FunctionError.Kind.CRASHED;
        };
    return new FunctionError(kind, e.getType(), e.getMessage(), e.getExitStatus(), e.getDocument());
  }

  // --- starting instances ------------------------------------------------------------------------

  private void startInstance(Fn fn) {
    coldStartsInFlight++;
    fn.starting++;
    Placed[] placed = new Placed[1];
    chain(fn)
        .thenCompose(chain -> place(fn, chain))
        .thenApplyAsync(
            pl -> {
              placed[0] = pl;
              return loadAndStart(pl);
            },
            workers)
        .whenComplete(
            (instanceId, err) -> {
              synchronized (this) {
                coldStartsInFlight--;
                fn.starting--;
                Placed pl = placed[0];
                if (pl != null) {
                  pl.td.unreserve(pl.chain);
                }
                if (err == null && tds.containsKey(pl.td.pooled.id()) && !closed) {
                  Instance inst = new Instance(instanceId, fn, pl.td, clock.instant());
                  fn.instances.add(inst);
                  pl.td.instances.add(inst);
                  (pl.fresh ? placementsFresh : placementsExisting).increment();
                } else {
                  startFailed(fn, pl, err == null ? new IllegalStateException("its TD was lost") : err);
                }
                dispatch();
              }
            });
  }

  private void startFailed(Fn fn, Placed pl, Throwable err) {
    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    String why = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    log.warn("could not start an instance of {}: {}", fn.d.name(), why);
    if (pl != null && tds.containsKey(pl.td.pooled.id())
        && pl.td.instances.isEmpty() && pl.td.reserved == 0 && pl.td.inFlight == 0) {
      giveBack(pl.td, true, "an instance start failed on it: " + why);
    }
    if (fn.instances.isEmpty() && fn.starting == 0) {
      boolean poolFull = cause instanceof PoolExhaustedException;
      for (Pending p : queues.drain(fn)) {
        reject(p, Reason.UNAVAILABLE,
            "could not start an instance of function \"" + fn.d.name() + "\": " + why,
            poolFull ? Duration.ofSeconds(1) : Duration.ZERO);
      }
    }
  }

  /** The function's load chain (dependencies, then its image), read and verified once. */
  private synchronized CompletableFuture<List<ImageFacts>> chain(Fn fn) {
    if (fn.chain == null || fn.chain.isCompletedExceptionally()) {
      fn.chain = CompletableFuture.supplyAsync(() -> readChain(fn.d), workers);
    }
    return fn.chain;
  }

  private List<ImageFacts> readChain(DeployedFunction d) {
    List<String> ids = new ArrayList<>(d.dependencies());
    ids.add(d.imageId());
    List<ImageFacts> out = new ArrayList<>();
    for (String id : ids) {
      ImageFacts f = images.get(id);
      if (f == null) {
        try {
          SignedManifest signed =
              repository
                  .getImage(ImageId.parse(id))
                  .orElseThrow(
                      () ->
                          new IllegalStateException(
                              "image "
                                  + id
                                  + " of function \""
                                  + d.name()
                                  + "\" is not in the image repository; deploy it again"));
          PolicyImage policy = PolicyImages.of(signed);
          f = new ImageFacts(signed, policy);
          images.put(id, f);
        } catch (java.io.IOException | dev.confaas.image.ImageVerificationException e) {
          throw new CompletionException(
              new IllegalStateException(
                  "image " + id + " of function \"" + d.name() + "\" cannot be read: " + e.getMessage(), e));
        }
      }
      out.add(f);
    }
    return List.copyOf(out);
  }

  private record Placed(Td td, List<ImageFacts> chain, boolean fresh) {}

  private synchronized CompletableFuture<Placed> place(Fn fn, List<ImageFacts> chain) {
    List<PolicyImage> policies = chain.stream().map(ImageFacts::policy).toList();
    ImageFacts function = chain.get(chain.size() - 1);
    List<Placement.TdView> views = new ArrayList<>();
    int maxImages = pool.config().maxImagesPerTd();
    for (Td td : tds.values()) {
      long toLoad =
          chain.stream()
              .filter(f -> td.images.stream().noneMatch(i -> i.imageId().equals(f.imageId())))
              .count();
      // Loading past the pool's image limit would only get the TD drained; take a fresh one instead.
      if (td.pooled.acceptsWork() && (toLoad == 0 || td.images.size() + toLoad <= maxImages)) {
        int ofImage = td.reservedOf(function.imageId());
        for (Instance i : td.instances) {
          if (i.fn.d.imageId().equals(function.imageId())) {
            ofImage++;
          }
        }
        views.add(new Placement.TdView(td.pooled.id(), td.images, td.instances.size() + td.reserved, ofImage));
      }
    }
    Placement.Choice choice;
    try {
      choice = Placement.choose(policies, function.maxInstances(), config.maxInstancesPerTd(), views);
    } catch (Placement.PlacementException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (choice.tdId().isPresent()) {
      Td td = tds.get(choice.tdId().get());
      td.reserve(chain);
      return CompletableFuture.completedFuture(new Placed(td, chain, false));
    }
    // Async: the pool may complete the future while holding its own monitor.
    return pool.acquire()
        .thenApplyAsync(
            pooled -> {
              synchronized (this) {
                if (closed) {
                  pool.release(pooled);
                  throw new CompletionException(new IllegalStateException("the scheduler shut down"));
                }
                Td td = new Td(pooled);
                tds.put(pooled.id(), td);
                td.reserve(chain);
                return new Placed(td, chain, true);
              }
            },
            workers);
  }

  /** On a worker: loads what the TD lacks of the chain and starts an instance. */
  private String loadAndStart(Placed pl) {
    Td td = pl.td;
    try {
      synchronized (td.loadLock) {
        List<String> loaded = td.pooled.loadedImages();
        for (ImageFacts image : pl.chain) {
          if (!loaded.contains(image.imageId())) {
            if (loader.load(td.pooled.channel(), image)) {
              coldLoads.increment();
            }
            td.pooled.recordLoaded(image.imageId());
          }
        }
        return loader.start(td.pooled.channel(), pl.chain.get(pl.chain.size() - 1).imageId());
      }
    } catch (AgentLoader.LoadException | java.io.IOException e) {
      throw new CompletionException(e);
    }
  }

  // --- removing things (under the monitor) -------------------------------------------------------

  private void removeInstance(Instance i) {
    i.fn.instances.remove(i);
    i.td.instances.remove(i);
  }

  private void kill(Instance i) {
    CompletableFuture<KillResponse> f = new CompletableFuture<>();
    try {
      TdAgentGrpc.newStub(i.td.pooled.channel())
          .withDeadlineAfter(config.loadTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .kill(KillRequest.newBuilder().setInstanceId(i.id).setSignal(SIGTERM).build(), GrpcCalls.unary(f));
    } catch (RuntimeException e) {
      f.completeExceptionally(e);
    }
    // A manifest that does not list SIGTERM in `signals` keeps its instance until the TD stops; the
    // TD goes back to the pool (and is retired) once it has no instances, so nothing leaks for long.
    f.whenComplete((ok, err) -> {
      if (err != null) {
        log.debug("instance {} on {} not signalled: {}", i.id, i.td.pooled.id(), GrpcCalls.describe(err));
      }
    });
  }

  private void loseTd(Td td, String why) {
    if (tds.remove(td.pooled.id()) == null) {
      return;
    }
    for (Instance i : List.copyOf(td.instances)) {
      removeInstance(i);
    }
    pool.retire(td.pooled, "lost: " + why);
  }

  private void giveBack(Td td, boolean release, String why) {
    if (tds.remove(td.pooled.id()) == null) {
      return;
    }
    for (Instance i : List.copyOf(td.instances)) {
      removeInstance(i);
    }
    log.debug("TD {} given back: {}", td.pooled.id(), why);
    if (release) {
      pool.release(td.pooled);
    } else {
      pool.retire(td.pooled, why);
    }
  }

  private void reject(Pending p, Reason reason, String message) {
    reject(p, reason, message, Duration.ZERO);
  }

  private void reject(Pending p, Reason reason, String message, Duration retryAfter) {
    CompletableFuture<InvocationResult> f = p.result();
    workers.execute(
        () -> f.completeExceptionally(new InvocationRejectedException(reason, message, retryAfter)));
  }

  /** A hint for OVERLOADED: the queue ahead divided among the function's instances, at least 1 s. */
  private Duration retryAfter(Fn fn) {
    double ms = fn.avgMillis * (queues.depth(fn) + 1) / fn.d.concurrency();
    return Duration.ofSeconds(Math.max(1, (long) Math.ceil(ms / 1000)));
  }

  // --- book-keeping ------------------------------------------------------------------------------

  private static String key(DeployedFunction d) {
    return d.name() + "@" + d.version() + "@" + d.imageId();
  }

  private Fn newFn(DeployedFunction d) {
    Fn fn = new Fn(d);
    String name = d.name();
    String version = Integer.toString(d.version());
    Gauge.builder("confaas.scheduler.queue.depth", this, s -> s.queueDepth(fn))
        .tags("function", name, "version", version)
        .description("invocations waiting for an instance")
        .register(meters);
    Gauge.builder("confaas.scheduler.inflight", this, s -> s.inFlight(fn))
        .tags("function", name, "version", version)
        .description("invocations running")
        .register(meters);
    Gauge.builder("confaas.scheduler.instances", this, s -> s.instances(fn))
        .tags("function", name, "version", version)
        .description("warm function instances")
        .register(meters);
    fn.latency =
        Timer.builder("confaas.scheduler.invocation.latency")
            .tags("function", name, "version", version)
            .description("time from sending an event to an instance until its outcome")
            .register(meters);
    return fn;
  }

  private synchronized double queueDepth(Fn fn) {
    return queues.depth(fn);
  }

  private synchronized double inFlight(Fn fn) {
    return fn.inFlight;
  }

  private synchronized double instances(Fn fn) {
    return fn.instances.size();
  }

  /** A snapshot of where each function's instances run, for tests and {@code GET /v1/tds}. */
  public synchronized Map<String, List<String>> instancesByTd() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Td td : tds.values()) {
      List<String> names = new ArrayList<>();
      for (Instance i : td.instances) {
        names.add(i.fn.d.name() + "/" + i.id);
      }
      out.put(td.pooled.id(), names);
    }
    return out;
  }

  private record Pending(
      InvocationRequest request, Fn fn, CompletableFuture<InvocationResult> result, Instant enqueuedAt)
      implements FairQueues.Deadlined {
    @Override
    public Instant deadline() {
      return request.deadline();
    }
  }

  private static final class Fn {
    final DeployedFunction d;
    final List<Instance> instances = new ArrayList<>();
    CompletableFuture<List<ImageFacts>> chain;
    int starting;
    int inFlight;
    double avgMillis = 1000;
    Timer latency;

    Fn(DeployedFunction d) {
      this.d = d;
    }

    /** Instances on TDs that still take work; those on draining TDs are on their way out. */
    int workingInstances() {
      int n = 0;
      for (Instance i : instances) {
        if (i.td.pooled.acceptsWork()) {
          n++;
        }
      }
      return n;
    }

    /** An idle instance on a TD that still takes work (not draining, not dead). */
    Instance idleInstance() {
      for (Instance i : instances) {
        if (!i.busy && i.td.pooled.acceptsWork()) {
          return i;
        }
      }
      return null;
    }

    Instance queueEmptyAndIdle(FairQueues<Fn, Pending> queues) {
      return queues.depth(this) == 0 && inFlight < d.concurrency() ? idleInstance() : null;
    }
  }

  private static final class Td {
    final PooledTd pooled;
    final Object loadLock = new Object();
    final List<PolicyImage> images = new ArrayList<>();
    final List<Instance> instances = new ArrayList<>();
    final Map<String, Integer> reservedByImage = new LinkedHashMap<>();
    int reserved;
    int inFlight;

    Td(PooledTd pooled) {
      this.pooled = pooled;
    }

    /** Counts an instance about to start here and adds its images to what placement sees. */
    void reserve(List<ImageFacts> chain) {
      reserved++;
      String fn = chain.get(chain.size() - 1).imageId();
      reservedByImage.merge(fn, 1, Integer::sum);
      for (ImageFacts f : chain) {
        if (images.stream().noneMatch(i -> i.imageId().equals(f.imageId()))) {
          images.add(f.policy());
        }
      }
    }

    void unreserve(List<ImageFacts> chain) {
      reserved--;
      reservedByImage.merge(chain.get(chain.size() - 1).imageId(), -1, Integer::sum);
    }

    int reservedOf(String imageId) {
      return reservedByImage.getOrDefault(imageId, 0);
    }
  }

  private static final class Instance {
    final String id;
    final Fn fn;
    final Td td;
    boolean busy;
    Instant lastUsed;

    Instance(String id, Fn fn, Td td, Instant now) {
      this.id = id;
      this.fn = fn;
      this.td = td;
      this.lastUsed = now;
    }
  }
}
