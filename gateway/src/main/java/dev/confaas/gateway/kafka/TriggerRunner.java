package dev.confaas.gateway.kafka;

import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka engine of this package: one consumer-group member that polls a topic on its own thread,
 * turns records into invocations through its {@link RecordRoute}, and commits an offset only once
 * every record before it is complete (delivered, or dead-lettered). Topic triggers and the async
 * queue are both runners; see the package documentation for the guarantees.
 *
 * <p><b>Supervised.</b> A consumer that fails (a Kafka call timing out, a rebalance error, a bug)
 * ends its session: work in flight is dropped (its records are re-delivered), and a new session
 * starts after an exponential back-off with full jitter. {@link #state()}, {@link #lastError()} and
 * {@link #restarts()} say where it stands; nothing ends the runner but {@link #close()}.
 *
 * <p>All consumer state is touched only by the runner's thread; invocation outcomes and produce
 * acknowledgements come back through {@link #events} and are applied there.
 */
final class TriggerRunner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TriggerRunner.class);

  /**
   * Tuning that is not part of a trigger's spec.
   *
   * @param backoffBase first retry's back-off ceiling (full jitter below it)
   * @param backoffCap largest back-off ceiling of retries
   * @param overloadPause shortest pause after a back-pressure rejection
   * @param invocationTimeout deadline of each invocation of a topic trigger
   * @param maxPollRecords {@code max.poll.records}
   * @param restartBase first consumer restart's back-off ceiling
   * @param restartCap largest back-off ceiling of consumer restarts
   * @param maxBufferedBytes record bytes held in memory before partitions are paused
   * @param beforePoll runs before every poll on the runner's thread: a seam for tests to make the
   *     consumer fail as Kafka calls do
   */
  record Options(
      Duration backoffBase,
      Duration backoffCap,
      Duration overloadPause,
      Duration invocationTimeout,
      int maxPollRecords,
      Duration restartBase,
      Duration restartCap,
      long maxBufferedBytes,
      Runnable beforePoll) {
    static Options defaults() {
      return new Options(
          Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofMillis(500),
          Duration.ofSeconds(60), 20, Duration.ofSeconds(1), Duration.ofSeconds(60),
          64L * 1024 * 1024, () -> {});
    }

    Options withBeforePoll(Runnable hook) {
      return new Options(backoffBase, backoffCap, overloadPause, invocationTimeout, maxPollRecords,
          restartBase, restartCap, maxBufferedBytes, hook);
    }
  }

  /**
   * What a runner consumes, and how.
   *
   * @param id names the runner in logs, metrics ({@code trigger} tag) and the API
   * @param function the {@code function} tag of its metrics
   * @param clientId the consumer's {@code client.id}
   * @param maxRetries retries after a unit's first failed attempt before it is dead-lettered
   * @param maxRecordBytes a record whose key plus value is larger is poison
   */
  record Consumption(
      String id,
      String function,
      String topic,
      String group,
      String clientId,
      TriggerSpec.Ordering ordering,
      int concurrency,
      int batchSize,
      int maxRetries,
      int maxRecordBytes) {}

  /** Where a runner stands. */
  enum State {
    /** A consumer session is starting: it has no partitions yet (or is waiting for the broker). */
    STARTING,
    /** Consuming its partitions. */
    RUNNING,
    /** The last session failed ({@link #lastError()}); a new one starts after a back-off. */
    RESTARTING,
    /** Closed. */
    STOPPED
  }

  private enum Phase {
    QUEUED,
    RUNNING,
    DONE,
    POISON
  }

  private static final class Entry {
    /** {@code null} once done, so a finished record's bytes are not held behind a slow one. */
    ConsumerRecord<byte[], byte[]> record;
    final long offset;
    final int bytes;
    Phase phase = Phase.QUEUED;

    Entry(ConsumerRecord<byte[], byte[]> record) {
      this.record = record;
      this.offset = record.offset();
      this.bytes = (record.key() == null ? 0 : record.key().length)
          + (record.value() == null ? 0 : record.value().length);
    }
  }

  private static final class Part {
    final TopicPartition tp;
    final ArrayDeque<Entry> entries = new ArrayDeque<>();
    final Set<Unit> units = new HashSet<>();
    long committed = -1;
    long lastDone = -1;
    long bytes;
    boolean stalled;
    boolean paused;

    Part(TopicPartition tp) {
      this.tp = tp;
    }
  }

  private static final class Unit {
    final Part part;
    final List<Entry> entries;
    final String keyId;
    int attempts;

    Unit(Part part, List<Entry> entries, String keyId) {
      this.part = part;
      this.entries = entries;
      this.keyId = keyId;
    }

    List<ConsumerRecord<byte[], byte[]>> records() {
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>(entries.size());
      entries.forEach(e -> out.add(e.record));
      return out;
    }
  }

  private final Consumption spec;
  private final RecordRoute route;
  private final KafkaClients clients;
  private final FunctionInvoker invoker;
  private final MeterRegistry registry;
  private final Clock clock;
  private final Options options;
  private final Backoff retryPolicy;
  private final Backoff restartPolicy;
  private final int bufferLimit;

  private final ConcurrentLinkedQueue<Runnable> events = new ConcurrentLinkedQueue<>();
  private final ScheduledExecutorService timer;
  private final Map<TopicPartition, Part> parts = new LinkedHashMap<>();
  private final Set<String> keysInFlight = new HashSet<>();
  private final Thread thread;
  private final CountDownLatch closing = new CountDownLatch(1);
  private volatile boolean running = true;
  private Instant backoffUntil = Instant.MIN;
  private boolean warnedNoDlq;
  private boolean reachedRunning;
  private long lastLagCheck;

  // Observed from other threads (metrics, API, tests).
  private volatile State state = State.STARTING;
  private volatile String lastError;
  private volatile Instant lastErrorAt;
  private volatile Instant lagAt;
  private final AtomicLong restarts = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlightSeen = new AtomicInteger();
  private final AtomicInteger buffered = new AtomicInteger();
  private final AtomicLong bufferedBytes = new AtomicLong();
  private final AtomicInteger pausedPartitions = new AtomicInteger();
  private final Map<Integer, AtomicLong> lag = new ConcurrentHashMap<>();
  private final List<Meter> meters = new ArrayList<>();
  private final Counter processed;
  private final Counter retries;
  private final Counter deadLettered;
  private final Counter poison;
  private final Counter restartCount;
  private final Timer latency;

  private volatile KafkaConsumer<byte[], byte[]> consumer;

  TriggerRunner(
      Consumption spec,
      RecordRoute route,
      KafkaClients clients,
      FunctionInvoker invoker,
      MeterRegistry registry,
      Clock clock,
      Options options) {
    this.spec = spec;
    this.route = route;
    this.clients = clients;
    this.invoker = invoker;
    this.registry = registry;
    this.clock = clock;
    this.options = options;
    this.retryPolicy = new Backoff(options.backoffBase(), options.backoffCap());
    this.restartPolicy = new Backoff(options.restartBase(), options.restartCap());
    this.bufferLimit = Math.max(options.maxPollRecords(), spec.batchSize()) * 2;
    Tags tags = Tags.of("trigger", spec.id(), "function", spec.function(), "topic", spec.topic());
    processed = keep(Counter.builder("confaas.trigger.records.processed").tags(tags).register(registry));
    retries = keep(Counter.builder("confaas.trigger.retries").tags(tags).register(registry));
    deadLettered = keep(Counter.builder("confaas.trigger.dead.lettered").tags(tags).register(registry));
    poison = keep(Counter.builder("confaas.trigger.poison").tags(tags).register(registry));
    restartCount = keep(Counter.builder("confaas.trigger.restarts")
        .description("consumer sessions that failed and were restarted").tags(tags).register(registry));
    latency = keep(Timer.builder("confaas.trigger.invocation.latency").tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.paused.partitions", pausedPartitions, AtomicInteger::get)
        .tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.in.flight", inFlight, AtomicInteger::get)
        .tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.buffered.bytes", bufferedBytes, AtomicLong::get)
        .tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.up", this, r -> r.state == State.RUNNING ? 1 : 0)
        .description("1 while the trigger's consumer runs, 0 while it starts, restarts or is stopped")
        .tags(tags).register(registry));
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "trigger-" + spec.id() + "-timer");
              t.setDaemon(true);
              return t;
            });
    thread = new Thread(this::run, "trigger-" + spec.id());
    thread.setDaemon(true);
  }

  private <M extends Meter> M keep(M meter) {
    meters.add(meter);
    return meter;
  }

  void start() {
    thread.start();
  }

  Consumption consumption() {
    return spec;
  }

  State state() {
    return state;
  }

  /** What last went wrong (a failed session, a write being retried), or {@code null}. */
  String lastError() {
    return lastError;
  }

  Instant lastErrorAt() {
    return lastErrorAt;
  }

  /** Consumer sessions that failed and were restarted. */
  long restarts() {
    return restarts.get();
  }

  int inFlight() {
    return inFlight.get();
  }

  int maxInFlightSeen() {
    return maxInFlightSeen.get();
  }

  int buffered() {
    return buffered.get();
  }

  long bufferedBytes() {
    return bufferedBytes.get();
  }

  int pausedPartitions() {
    return pausedPartitions.get();
  }

  /** Records not yet committed per partition (end offset minus committed offset), as of {@link #lagAt()}. */
  Map<Integer, Long> lag() {
    Map<Integer, Long> out = new TreeMap<>();
    lag.forEach((p, v) -> out.put(p, v.get()));
    return out;
  }

  /** When {@link #lag()} was last refreshed from the broker; {@code null} before the first time. */
  Instant lagAt() {
    return lagAt;
  }

  @Override
  public void close() {
    running = false;
    closing.countDown();
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    if (thread.isAlive()) {
      try {
        thread.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    timer.shutdownNow();
    route.close();
    meters.forEach(registry::remove);
    state = State.STOPPED;
  }

  // ---- supervision ----

  private void run() {
    int failures = 0;
    try {
      while (running) {
        state = State.STARTING;
        reachedRunning = false;
        try {
          session();
        } catch (RuntimeException e) {
          if (!running) {
            break;
          }
          failures = reachedRunning ? 1 : failures + 1;
          restarts.incrementAndGet();
          restartCount.increment();
          error("consumer failed: " + e);
          state = State.RESTARTING;
          Duration wait = Duration.ofMillis(100).plus(restartPolicy.delay(failures));
          LOG.warn("{} {}: consumer failed ({}); restarting in {} ms (restart {})", kind(), spec.id(),
              e.toString(), wait.toMillis(), restarts.get(), e);
          try {
            closing.await(wait.toNanos(), TimeUnit.NANOSECONDS);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      }
    } catch (Error e) {
      error("runner thread died: " + e);
      throw e;
    } finally {
      state = State.STOPPED;
    }
  }

  private String kind() {
    return spec.id().equals(KafkaAsyncInvocations.RUNNER_ID) ? "async invocations" : "trigger";
  }

  private void error(String message) {
    lastError = message;
    lastErrorAt = clock.instant();
  }

  /** One consumer's life: returns when closed, throws when the consumer fails. */
  private void session() {
    KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(consumerConfig());
    consumer = con;
    try {
      if (!running) {
        return;
      }
      con.subscribe(List.of(spec.topic()), new Rebalance());
      while (running) {
        try {
          options.beforePoll().run();
          updatePauses();
          ConsumerRecords<byte[], byte[]> records = con.poll(pollTimeout());
          if (state != State.RUNNING && !parts.isEmpty()) {
            state = State.RUNNING;
            reachedRunning = true;
          }
          for (ConsumerRecord<byte[], byte[]> r : records) {
            Part part = parts.get(new TopicPartition(r.topic(), r.partition()));
            if (part != null) {
              accept(part, r);
            }
          }
          drainEvents();
          dispatch();
          commitDone(parts.keySet(), false);
          checkLag();
          buffered.set(parts.values().stream().mapToInt(p -> p.entries.size()).sum());
        } catch (WakeupException e) {
          // close() woke us; the loop condition decides.
        }
      }
    } finally {
      try {
        finalCommit();
      } catch (RuntimeException e) {
        LOG.warn("{} {}: final commit failed; uncommitted records will be re-delivered ({})", kind(), spec.id(),
            e.toString());
      }
      abandon();
      try {
        con.close(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        LOG.debug("{} {}: closing the consumer: {}", kind(), spec.id(), e.toString());
      }
      consumer = null;
    }
  }

  private void finalCommit() {
    drainEvents();
    try {
      commitDone(parts.keySet(), true);
    } catch (WakeupException e) {
      commitDone(parts.keySet(), true); // close() woke a consumer that was not polling: try again
    }
  }

  /** Forgets the session's partitions and work; their records are re-delivered to the next owner. */
  private void abandon() {
    for (Part p : parts.values()) {
      for (Unit u : List.copyOf(p.units)) {
        release(u, Phase.QUEUED);
      }
    }
    parts.clear();
    keysInFlight.clear();
    events.clear();
    inFlight.set(0);
    buffered.set(0);
    bufferedBytes.set(0);
    pausedPartitions.set(0);
    backoffUntil = Instant.MIN;
  }

  private Duration pollTimeout() {
    if (!events.isEmpty()) {
      return Duration.ZERO;
    }
    return inFlight.get() > 0 || buffered.get() > 0 ? Duration.ofMillis(10) : Duration.ofMillis(200);
  }

  private void drainEvents() {
    Runnable r;
    while ((r = events.poll()) != null) {
      r.run();
    }
  }

  private void post(Runnable r) {
    events.add(r);
  }

  private void later(Duration delay, Runnable r) {
    try {
      timer.schedule(() -> post(r), delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  // ---- records in ----

  private void accept(Part part, ConsumerRecord<byte[], byte[]> r) {
    Entry e = new Entry(r);
    part.entries.add(e);
    part.bytes += e.bytes;
    bufferedBytes.addAndGet(e.bytes);
    if (e.bytes > spec.maxRecordBytes()) {
      String reason = "record of " + e.bytes + " bytes (key + value) exceeds the trigger's maxRecordBytes "
          + spec.maxRecordBytes();
      poison(part, e, new RecordRoute.Failure(
          RecordRoute.FailureKind.TOO_LARGE, "Poison.RecordTooLarge", reason, 0, null, null));
      return;
    }
    if (route.alreadyDone(r)) {
      markDone(part, e);
    }
  }

  private void poison(Part part, Entry e, RecordRoute.Failure failure) {
    e.phase = Phase.POISON;
    poison.increment();
    if (!route.deadLetters()) {
      part.stalled = true;
      error("poison record " + part.tp + "/" + e.offset + " (" + failure.message()
          + ") and no dead-letter topic: the partition stalls until one is configured");
      LOG.error("{} {}: poison record {}/{} ({}) and no dead-letter topic: partition stalls until one is configured",
          kind(), spec.id(), part.tp, e.offset, failure.message());
      return;
    }
    deadLetterRecord(part, e, failure, null, 0, () -> markDone(part, e));
  }

  private void updatePauses() {
    boolean overloaded = clock.instant().isBefore(backoffUntil);
    boolean full = bufferedBytes.get() >= options.maxBufferedBytes();
    List<TopicPartition> pause = new ArrayList<>();
    List<TopicPartition> resume = new ArrayList<>();
    int count = 0;
    for (Part p : parts.values()) {
      boolean want = overloaded || p.stalled || p.entries.size() >= bufferLimit || (full && p.bytes > 0);
      if (want && !p.paused) {
        pause.add(p.tp);
      } else if (!want && p.paused) {
        resume.add(p.tp);
      }
      p.paused = want;
      if (want) {
        count++;
      }
    }
    if (!pause.isEmpty()) {
      consumer.pause(pause);
    }
    if (!resume.isEmpty()) {
      consumer.resume(resume);
    }
    pausedPartitions.set(count);
  }

  // ---- dispatch ----

  private void dispatch() {
    if (clock.instant().isBefore(backoffUntil)) {
      return;
    }
    for (Part part : parts.values()) {
      if (inFlight.get() >= spec.concurrency()) {
        return;
      }
      if (part.stalled) {
        continue;
      }
      boolean perPartition =
          spec.ordering() == TriggerSpec.Ordering.PARTITION
              || (spec.ordering() == TriggerSpec.Ordering.KEY && spec.batchSize() > 1);
      if (perPartition) {
        if (part.units.isEmpty()) {
          List<Entry> batch = new ArrayList<>();
          for (Entry e : part.entries) {
            if (e.phase == Phase.QUEUED) {
              batch.add(e);
              if (batch.size() == spec.batchSize()) {
                break;
              }
            }
          }
          if (!batch.isEmpty()) {
            begin(new Unit(part, batch, null));
          }
        }
      } else if (spec.ordering() == TriggerSpec.Ordering.KEY) {
        Set<String> blocked = new HashSet<>();
        for (Entry e : part.entries) {
          if (inFlight.get() >= spec.concurrency()) {
            return;
          }
          if (e.phase == Phase.DONE) {
            continue;
          }
          String k = keyId(part, e.record);
          if (e.phase == Phase.QUEUED && !keysInFlight.contains(k) && !blocked.contains(k)) {
            begin(new Unit(part, List.of(e), k));
          }
          blocked.add(k);
        }
      } else {
        List<Entry> batch = new ArrayList<>();
        for (Entry e : part.entries) {
          if (inFlight.get() >= spec.concurrency()) {
            return;
          }
          if (e.phase == Phase.QUEUED) {
            batch.add(e);
            if (batch.size() == spec.batchSize()) {
              begin(new Unit(part, batch, null));
              batch = new ArrayList<>();
            }
          }
        }
        if (!batch.isEmpty()) {
          begin(new Unit(part, batch, null));
        }
      }
    }
  }

  private static String keyId(Part part, ConsumerRecord<byte[], byte[]> r) {
    return part.tp.partition() + ":" + (r.key() == null ? "-" : Base64.getEncoder().encodeToString(r.key()));
  }

  private void begin(Unit unit) {
    unit.entries.forEach(e -> e.phase = Phase.RUNNING);
    unit.part.units.add(unit);
    if (unit.keyId != null) {
      keysInFlight.add(unit.keyId);
    }
    int n = inFlight.incrementAndGet();
    maxInFlightSeen.accumulateAndGet(n, Math::max);
    attempt(unit);
  }

  private void release(Unit unit, Phase to) {
    if (unit.part.units.remove(unit)) {
      inFlight.decrementAndGet();
      if (unit.keyId != null) {
        keysInFlight.remove(unit.keyId);
      }
    }
    for (Entry e : unit.entries) {
      if (to == Phase.DONE) {
        markDone(unit.part, e);
      } else {
        e.phase = to;
      }
    }
  }

  private void markDone(Part part, Entry e) {
    if (e.record != null) {
      e.record = null;
      part.bytes -= e.bytes;
      bufferedBytes.addAndGet(-e.bytes);
    }
    e.phase = Phase.DONE;
  }

  private boolean current(Unit unit) {
    return running && parts.get(unit.part.tp) == unit.part && unit.part.units.contains(unit);
  }

  private void attempt(Unit unit) {
    List<ConsumerRecord<byte[], byte[]>> records = unit.records();
    InvocationRequest request;
    try {
      request = route.invocation(records, UUID.randomUUID().toString(), clock.instant());
    } catch (RecordRoute.Unreadable e) {
      poison.increment();
      RecordRoute.Failure failure = new RecordRoute.Failure(
          RecordRoute.FailureKind.UNREADABLE, "Poison.Unreadable", e.getMessage(), 0, null, e);
      if (!route.deadLetters()) {
        release(unit, Phase.POISON);
        unit.part.stalled = true;
        error("unreadable record " + unit.part.tp + "/" + unit.entries.get(0).offset + ": " + e.getMessage());
        return;
      }
      deadLetterUnit(unit, failure);
      return;
    }
    route.started(records, request);
    long started = System.nanoTime();
    CompletableFuture<InvocationResult> f;
    try {
      f = invoker.invoke(request);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (result, error) ->
            post(
                () -> {
                  if (current(unit)) {
                    latency.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                    outcome(unit, request, result, error);
                  }
                }));
  }

  private void outcome(Unit unit, InvocationRequest request, InvocationResult result, Throwable error) {
    if (error != null) {
      Throwable cause = unwrap(error);
      if (cause instanceof InvocationRejectedException r && isBackPressure(r.reason())) {
        // The platform could not run it now (full, no TD free, shutting down): not a failure of the
        // record, so no attempt is spent and nothing is dead-lettered; pause, try again later.
        Duration wait = r.retryAfter().compareTo(options.overloadPause()) > 0 ? r.retryAfter() : options.overloadPause();
        backoffUntil = clock.instant().plus(wait);
        release(unit, Phase.QUEUED);
        return;
      }
      String message = String.valueOf(cause.getMessage());
      failed(unit, cause instanceof InvocationRejectedException r
          ? new RecordRoute.Failure(RecordRoute.FailureKind.REJECTED, "Rejected." + r.reason(), message, 0, null, r)
          : new RecordRoute.Failure(RecordRoute.FailureKind.INVOKER_ERROR, cause.getClass().getSimpleName(), message,
              0, null, cause));
      return;
    }
    if (!result.succeeded()) {
      failed(unit, new RecordRoute.Failure(RecordRoute.FailureKind.FUNCTION_ERROR,
          result.error().kind() + ":" + result.error().type(), String.valueOf(result.error().message()), 0,
          result, null));
      return;
    }
    deliver(unit, request, result, 0);
  }

  /** Hands a success to the route; a write that failed for a passing reason is retried, not re-run. */
  private void deliver(Unit unit, InvocationRequest request, InvocationResult result, int tries) {
    CompletableFuture<Void> f;
    try {
      f = route.succeeded(unit.records(), request, result);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((x, ex) -> post(() -> {
      if (!current(unit)) {
        return;
      }
      if (ex == null) {
        processed.increment(unit.entries.size());
        release(unit, Phase.DONE);
        return;
      }
      Throwable cause = unwrap(ex);
      if (cause instanceof RetriableException) {
        error("delivering a result failed (" + cause + "); retrying");
        later(retryPolicy.delay(tries + 1), () -> {
          if (current(unit)) {
            deliver(unit, request, result, tries + 1);
          }
        });
        return;
      }
      failed(unit, new RecordRoute.Failure(RecordRoute.FailureKind.NOT_DELIVERED, "Reply.ProduceFailed",
          "the result could not be delivered: " + cause, 0, result, cause));
    }));
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static boolean isBackPressure(InvocationRejectedException.Reason reason) {
    return switch (reason) {
      case OVERLOADED, UNAVAILABLE, DEADLINE_EXCEEDED, SHUTTING_DOWN -> true;
      case NOT_FOUND, TD_GONE, TD_REFUSES_FUNCTION, SEALED_REQUEST_REFUSED -> false;
    };
  }

  private void failed(Unit unit, RecordRoute.Failure failure) {
    unit.attempts++;
    RecordRoute.Failure f = failure.withAttempts(unit.attempts);
    if (unit.attempts <= spec.maxRetries()) {
      retries.increment();
      retryLater(unit, retryPolicy.delay(unit.attempts));
      return;
    }
    if (!route.deadLetters()) {
      if (!warnedNoDlq) {
        warnedNoDlq = true;
        LOG.warn(
            "{} {}: record {}/{} failed {} times ({}: {}) and there is no dead-letter topic; retrying until it succeeds",
            kind(), spec.id(), unit.part.tp, unit.entries.get(0).offset, unit.attempts, f.type(), f.message());
      }
      error("record " + unit.part.tp + "/" + unit.entries.get(0).offset + " failed " + unit.attempts
          + " times (" + f.type() + ") and there is no dead-letter topic; retrying until it succeeds");
      retries.increment();
      retryLater(unit, retryPolicy.delay(unit.attempts));
      return;
    }
    deadLetterUnit(unit, f);
  }

  private void retryLater(Unit unit, Duration delay) {
    later(delay, () -> {
      if (current(unit)) {
        attempt(unit);
      }
    });
  }

  private void deadLetterUnit(Unit unit, RecordRoute.Failure failure) {
    AtomicInteger left = new AtomicInteger(unit.entries.size());
    for (Entry e : unit.entries) {
      deadLetterRecord(unit.part, e, failure, null, 0, () -> {
        if (left.decrementAndGet() == 0 && current(unit)) {
          deadLettered.increment(unit.entries.size());
          release(unit, Phase.DONE);
        }
      });
    }
  }

  /**
   * Dead-letters one record; {@code done} runs on this thread once it is acknowledged. A record
   * that cannot be dead-lettered as it is (too large for the dead-letter topic, say) is
   * dead-lettered as a small descriptor; a write that failed for a passing reason is retried with
   * back-off for as long as the partition is ours. Nothing is skipped.
   */
  private void deadLetterRecord(
      Part part, Entry e, RecordRoute.Failure failure, String notWhole, int tries, Runnable done) {
    CompletableFuture<Void> f;
    try {
      f = route.deadLetter(e.record, failure, notWhole);
    } catch (RuntimeException ex) {
      f = CompletableFuture.failedFuture(ex);
    }
    f.whenComplete((x, ex) -> post(() -> {
      if (parts.get(part.tp) != part) {
        return; // revoked or session ended meanwhile: the next owner re-delivers it
      }
      if (ex == null) {
        done.run();
        return;
      }
      Throwable cause = unwrap(ex);
      if (notWhole == null && !(cause instanceof RetriableException)) {
        LOG.warn("{} {}: record {}/{} ({} bytes) could not be dead-lettered whole ({}); dead-lettering a descriptor",
            kind(), spec.id(), part.tp, e.offset, e.bytes, cause.toString());
        deadLetterRecord(part, e, failure, cause.toString(), 0, done);
        return;
      }
      Duration wait = retryPolicy.delay(tries + 1);
      error("dead-lettering " + part.tp + "/" + e.offset + " failed (" + cause + "); retrying");
      LOG.warn("{} {}: dead-lettering {}/{} failed ({}); retrying in {} ms", kind(), spec.id(), part.tp, e.offset,
          cause.toString(), wait.toMillis());
      later(wait, () -> {
        if (parts.get(part.tp) == part) {
          deadLetterRecord(part, e, failure, notWhole, tries + 1, done);
        }
      });
    }));
  }

  // ---- commits ----

  /**
   * Commits, per partition, the offset after the highest contiguous done record: asynchronously
   * while running (a lost commit only means re-delivery), synchronously when giving partitions up.
   */
  private void commitDone(Collection<TopicPartition> which, boolean sync) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : which) {
      Part p = parts.get(tp);
      if (p == null) {
        continue;
      }
      while (!p.entries.isEmpty() && p.entries.peekFirst().phase == Phase.DONE) {
        p.lastDone = p.entries.pollFirst().offset;
      }
      if (p.lastDone < 0) {
        continue;
      }
      long next = p.entries.isEmpty() ? p.lastDone + 1 : p.entries.peekFirst().offset;
      if (next > p.committed) {
        offsets.put(tp, new OffsetAndMetadata(next));
      }
    }
    if (offsets.isEmpty()) {
      return;
    }
    if (sync) {
      // Bounded: a broker that does not answer must not hold up a restart or a shutdown.
      consumer.commitSync(offsets, Duration.ofSeconds(5));
    } else {
      consumer.commitAsync(offsets, (done, e) -> {
        if (e != null) {
          LOG.debug("{} {}: async commit failed ({}); a later commit or re-delivery covers it", kind(), spec.id(),
              e.toString());
        }
      });
    }
    offsets.forEach((tp, o) -> parts.get(tp).committed = o.offset());
  }

  private void checkLag() {
    long now = System.nanoTime();
    if (now - lastLagCheck < TimeUnit.SECONDS.toNanos(1) || parts.isEmpty()) {
      return;
    }
    lastLagCheck = now;
    Map<TopicPartition, Long> ends;
    try {
      ends = consumer.endOffsets(parts.keySet(), Duration.ofSeconds(2));
    } catch (WakeupException e) {
      throw e;
    } catch (KafkaException e) {
      // The broker did not answer in time: lag stays as last seen (lagAt says when); not a reason
      // to end the session, which recovers by itself when the broker is back.
      error("lag not refreshed: " + e);
      return;
    }
    for (Part p : parts.values()) {
      Long end = ends.get(p.tp);
      if (end == null) {
        continue;
      }
      long committed;
      if (p.committed >= 0) {
        committed = p.committed;
      } else if (!p.entries.isEmpty()) {
        committed = p.entries.peekFirst().offset;
      } else {
        try {
          committed = consumer.position(p.tp, Duration.ofMillis(500));
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
          continue; // position not known yet; next round
        }
      }
      lagGauge(p.tp.partition()).set(Math.max(0, end - committed));
    }
    lagAt = clock.instant();
  }

  private AtomicLong lagGauge(int partition) {
    return lag.computeIfAbsent(
        partition,
        n -> {
          AtomicLong v = new AtomicLong();
          keep(Gauge.builder("confaas.trigger.lag", v, AtomicLong::get)
              .tags("trigger", spec.id(), "topic", spec.topic(), "partition", Integer.toString(n))
              .register(registry));
          return v;
        });
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
      drainEvents();
      try {
        commitDone(revoked, true);
      } catch (RuntimeException e) {
        LOG.warn("{} {}: commit on revoke failed; the new owner re-delivers ({})", kind(), spec.id(), e.toString());
      }
      drop(revoked);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      drop(lost);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      if (assigned.isEmpty()) {
        return;
      }
      Map<TopicPartition, OffsetAndMetadata> committed =
          consumer.committed(Set.copyOf(assigned), Duration.ofSeconds(10));
      for (TopicPartition tp : assigned) {
        Part p = new Part(tp);
        OffsetAndMetadata c = committed.get(tp);
        p.committed = c == null ? -1 : c.offset();
        parts.put(tp, p);
        lagGauge(tp.partition());
      }
    }

    private void drop(Collection<TopicPartition> tps) {
      for (TopicPartition tp : tps) {
        Part p = parts.remove(tp);
        if (p != null) {
          for (Unit u : List.copyOf(p.units)) {
            release(u, Phase.QUEUED);
          }
          bufferedBytes.addAndGet(-p.bytes);
        }
      }
    }
  }

  private Map<String, Object> consumerConfig() {
    Map<String, Object> c = KafkaLimits.consumer(clients, spec.clientId());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, spec.group());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxPollRecords());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long fetch = Math.max(KafkaLimits.MAX_MESSAGE_BYTES, (long) spec.maxRecordBytes() + 64 * 1024);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, (int) Math.min(fetch, 64L * 1024 * 1024));
    return c;
  }
}
