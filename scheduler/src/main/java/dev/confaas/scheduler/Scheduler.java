package dev.confaas.scheduler;

import dev.confaas.image.ImageRepository;
import dev.confaas.pool.WarmPool;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs invocations on function instances in attested TDs (ARCHITECTURE.md, flow 3). A facade over
 * three parts, each with one reason to change:
 *
 * <ul>
 *   <li>{@link Dispatcher}: queues, deadlines, fairness, concurrency, keep-alive, one state machine
 *       per instance ({@link Instance.State}). An idle warm instance takes a call at once; otherwise
 *       it waits in its function's bounded queue (full: OVERLOADED with a Retry-After estimate;
 *       deadline passed while queued: DEADLINE_EXCEEDED) and a new instance starts, up to the
 *       function's {@code concurrency}. A TD lost mid-call fails it with {@link
 *       FunctionError.Kind#TD_LOST} and is retired; a call whose TD lives but whose agent did not answer
 *       within the function's timeout plus the grace fails with {@link FunctionError.Kind#TIMED_OUT}
 *       (HTTP 504), gives up that instance only, and the TD stays.
 *   <li>{@link InstanceStarter}: {@link Placement} (a TD in use whose images and the function's
 *       accept each other, else a fresh attested TD), load, start, on its own bounded executor.
 *   <li>{@link TdSource}: the TDs and their agents; {@link WarmPoolTds} over the {@link WarmPool},
 *       which keeps the one record of what each TD holds.
 * </ul>
 *
 * <p>Never blocks a caller: invocations are async agent calls; repository reads and image loads run
 * on the starter's threads.
 */
public final class Scheduler implements FunctionInvoker, AutoCloseable {
  /** Verified images kept in memory; a load chain is a handful, a TD holds at most a few dozen. */
  static final long IMAGE_CACHE_SIZE = 1024;

  private final Dispatcher dispatcher;
  private final SchedulerConfig config;
  private final ScheduledExecutorService timer;
  private final ExecutorService ownStarts;
  private ScheduledFuture<?> tickTask;
  private boolean closed;

  /**
   * @param catalog resolves function names to deployments
   * @param repository the platform's image repository (manifests, signatures, certificates, blobs)
   * @param pool where fresh attested TDs come from and go back to
   * @param config queueing, placement and scaling limits
   * @param clock the time for deadlines, keep-alive and latency
   * @param timer runs the periodic {@link #tick()}
   * @param workers completes rejected invocations' futures off the caller's thread
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
    this(
        catalog,
        new WarmPoolTds(pool, repository, config.loadTimeout(), config.invokeGrace()),
        ImageFactsCache.over(repository, IMAGE_CACHE_SIZE),
        config,
        clock,
        timer,
        workers,
        startExecutor(config.maxColdStartsInFlight()),
        meters);
  }

  /** For tests: any {@link TdSource}, and the executor that runs starts. */
  Scheduler(
      FunctionCatalog catalog,
      TdSource tds,
      ImageFactsCache images,
      SchedulerConfig config,
      Clock clock,
      ScheduledExecutorService timer,
      Executor completions,
      Executor starts,
      MeterRegistry meters) {
    this.config = config;
    this.timer = timer;
    this.ownStarts = starts instanceof ExecutorService s ? s : null;
    InstanceStarter starter = new InstanceStarter(tds, images, config, starts, meters);
    this.dispatcher = new Dispatcher(catalog, tds, starter, config, clock, completions, meters);
  }

  /**
   * Instance starts block (repository reads, image loads) and there are at most {@code
   * maxColdStartsInFlight} at once; a start that outlives its instance (shut down, TD lost) may
   * add one more step, hence the slack in the queue.
   */
  private static ExecutorService startExecutor(int maxStarts) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor e =
        new ThreadPoolExecutor(
            maxStarts,
            maxStarts,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(2 * maxStarts),
            r -> {
              Thread t = new Thread(r, "confaas-instance-start-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    e.allowCoreThreadTimeOut(true);
    return e;
  }

  /** Starts the periodic tick (deadlines of queued calls, keep-alive, draining TDs). */
  public synchronized void start() {
    if (tickTask == null && !closed && timer != null) {
      long ms = config.tick().toMillis();
      tickTask = timer.scheduleWithFixedDelay(this::tick, ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public CompletableFuture<InvocationResult> invoke(InvocationRequest request) {
    return dispatcher.invoke(request);
  }

  /** Expires queued calls, stops instances idle past keep-alive, gives back idle or draining TDs. */
  void tick() {
    dispatcher.tick();
  }

  /** A snapshot of where each function's instances run, for tests and {@code GET /v1/tds}. */
  public Map<String, List<String>> instancesByTd() {
    return dispatcher.instancesByTd();
  }

  /**
   * Starts an instance of the function when none is warm, without an event; completes once one is
   * warm (at once when one is), or fails with {@link InvocationRejectedException} as an invocation
   * would. For callers that fetch a TD's evidence before sealing an event to it.
   */
  public CompletableFuture<Void> prepare(String function, String version) {
    return dispatcher.prepare(function, version);
  }

  /** The TDs where the deployment of {@code function} with image {@code imageId} has a warm instance. */
  public List<String> tdsWithWarmInstances(String function, String imageId) {
    return dispatcher.tdsWithWarmInstances(function, imageId);
  }

  /** Function versions with state and meters in the dispatcher, for tests. */
  int functionsKnown() {
    return dispatcher.functionsKnown();
  }

  /** Stops taking invocations, fails queued ones, and gives every TD without work back. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (tickTask != null) {
        tickTask.cancel(false);
      }
    }
    dispatcher.close();
    if (ownStarts != null) {
      ownStarts.shutdown();
    }
  }
}
