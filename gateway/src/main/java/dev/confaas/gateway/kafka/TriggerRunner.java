package dev.confaas.gateway.kafka;

import dev.confaas.gateway.Receipts;
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
import java.nio.charset.StandardCharsets;
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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One trigger's consumer group member: polls its topic on its own thread, hands records to the
 * function, and commits an offset only once every record before it is done (succeeded, replied,
 * or dead-lettered). See the package documentation for the guarantees.
 *
 * <p>All consumer state is touched only by the runner's thread; invocation outcomes and produce
 * acknowledgements come back through {@link #events} and are applied there.
 */
final class TriggerRunner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TriggerRunner.class);

  /** Tuning that is not part of a trigger's spec. */
  record Options(
      Duration backoffBase,
      Duration backoffCap,
      Duration overloadPause,
      Duration invocationTimeout,
      int maxPollRecords) {
    static Options defaults() {
      return new Options(
          Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofMillis(500),
          Duration.ofSeconds(60), 20);
    }
  }

  private enum State {
    QUEUED,
    RUNNING,
    DONE,
    POISON
  }

  private static final class Entry {
    final ConsumerRecord<byte[], byte[]> record;
    State state = State.QUEUED;

    Entry(ConsumerRecord<byte[], byte[]> record) {
      this.record = record;
    }
  }

  private static final class Part {
    final TopicPartition tp;
    final ArrayDeque<Entry> entries = new ArrayDeque<>();
    final Set<Unit> units = new HashSet<>();
    long committed = -1;
    long lastDone = -1;
    boolean stalled;
    boolean paused;

    Part(TopicPartition tp) {
      this.tp = tp;
    }

    int inFlight() {
      return units.size();
    }
  }

  private static final class Unit {
    final Part part;
    final List<Entry> entries;
    final String keyId;
    int attempts;
    String lastErrorType = "";
    String lastError = "";

    Unit(Part part, List<Entry> entries, String keyId) {
      this.part = part;
      this.entries = entries;
      this.keyId = keyId;
    }
  }

  private final TriggerSpec spec;
  private final KafkaClients clients;
  private final FunctionInvoker invoker;
  private final MeterRegistry registry;
  private final Clock clock;
  private final Options options;
  private final int bufferLimit;

  private final ConcurrentLinkedQueue<Runnable> events = new ConcurrentLinkedQueue<>();
  private final ScheduledExecutorService timer;
  private final Map<TopicPartition, Part> parts = new LinkedHashMap<>();
  private final Set<String> keysInFlight = new HashSet<>();
  private final Thread thread;
  private volatile boolean running = true;
  private Instant backoffUntil = Instant.MIN;
  private boolean warnedNoDlq;
  private long lastLagCheck;

  // Observed from other threads (metrics, API, tests).
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlightSeen = new AtomicInteger();
  private final AtomicInteger buffered = new AtomicInteger();
  private final AtomicInteger pausedPartitions = new AtomicInteger();
  private final Map<Integer, AtomicLong> lag = new ConcurrentHashMap<>();
  private final List<Meter> meters = new ArrayList<>();
  private final Counter processed;
  private final Counter retries;
  private final Counter deadLettered;
  private final Counter poison;
  private final Timer latency;

  private KafkaConsumer<byte[], byte[]> consumer;
  private KafkaProducer<byte[], byte[]> producer;

  TriggerRunner(
      TriggerSpec spec,
      KafkaClients clients,
      FunctionInvoker invoker,
      MeterRegistry registry,
      Clock clock,
      Options options) {
    this.spec = spec;
    this.clients = clients;
    this.invoker = invoker;
    this.registry = registry;
    this.clock = clock;
    this.options = options;
    this.bufferLimit = Math.max(options.maxPollRecords(), spec.batchSize()) * 2;
    Tags tags = Tags.of("trigger", spec.id(), "function", spec.function(), "topic", spec.topic());
    processed = keep(Counter.builder("confaas.trigger.records.processed").tags(tags).register(registry));
    retries = keep(Counter.builder("confaas.trigger.retries").tags(tags).register(registry));
    deadLettered = keep(Counter.builder("confaas.trigger.dead.lettered").tags(tags).register(registry));
    poison = keep(Counter.builder("confaas.trigger.poison").tags(tags).register(registry));
    latency = keep(Timer.builder("confaas.trigger.invocation.latency").tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.paused.partitions", pausedPartitions, AtomicInteger::get)
        .tags(tags).register(registry));
    keep(Gauge.builder("confaas.trigger.in.flight", inFlight, AtomicInteger::get)
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

  TriggerSpec spec() {
    return spec;
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

  int pausedPartitions() {
    return pausedPartitions.get();
  }

  /** Records not yet committed per partition (end offset minus committed offset), as last seen. */
  Map<Integer, Long> lag() {
    Map<Integer, Long> out = new java.util.TreeMap<>();
    lag.forEach((p, v) -> out.put(p, v.get()));
    return out;
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timer.shutdownNow();
    meters.forEach(registry::remove);
  }

  private void run() {
    try {
      producer = new KafkaProducer<>(producerConfig());
      consumer = new KafkaConsumer<>(consumerConfig());
      if (!running) {
        return;
      }
      consumer.subscribe(List.of(spec.topic()), new Rebalance());
      while (running) {
        try {
          updatePauses();
          ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout());
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
    } catch (RuntimeException e) {
      LOG.error("trigger {} stopped: {}", spec.id(), e.toString(), e);
    } finally {
      if (consumer != null) {
        try {
          drainEvents();
          commitDone(parts.keySet(), true);
        } catch (RuntimeException e) {
          LOG.warn("trigger {}: final commit failed; uncommitted records will be re-delivered", spec.id());
        }
        consumer.close(Duration.ofSeconds(5));
      }
      if (producer != null) {
        producer.close(Duration.ofSeconds(5));
      }
    }
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

  // ---- records in ----

  private void accept(Part part, ConsumerRecord<byte[], byte[]> r) {
    Entry e = new Entry(r);
    part.entries.add(e);
    int size = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
    if (size > spec.maxRecordBytes()) {
      e.state = State.POISON;
      poison.increment();
      String reason =
          "record of " + size + " bytes (key + value) exceeds the trigger's maxRecordBytes " + spec.maxRecordBytes();
      if (spec.deadLetterTopic() == null) {
        part.stalled = true;
        LOG.error(
            "trigger {}: poison record {}/{}/{} ({}) and no dead-letter topic: partition stalls until one is configured",
            spec.id(), r.topic(), r.partition(), r.offset(), reason);
        return;
      }
      deadLetter(part, List.of(e), "Poison.RecordTooLarge", reason, 0, () -> e.state = State.DONE);
    }
  }

  private void updatePauses() {
    boolean overloaded = clock.instant().isBefore(backoffUntil);
    List<TopicPartition> pause = new ArrayList<>();
    List<TopicPartition> resume = new ArrayList<>();
    int count = 0;
    for (Part p : parts.values()) {
      boolean want = overloaded || p.stalled || p.entries.size() >= bufferLimit;
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
        if (part.inFlight() == 0) {
          List<Entry> batch = new ArrayList<>();
          for (Entry e : part.entries) {
            if (e.state == State.QUEUED) {
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
          if (e.state == State.DONE) {
            continue;
          }
          String k = keyId(part, e.record);
          if (e.state == State.QUEUED && !keysInFlight.contains(k) && !blocked.contains(k)) {
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
          if (e.state == State.QUEUED) {
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
    unit.entries.forEach(e -> e.state = State.RUNNING);
    unit.part.units.add(unit);
    if (unit.keyId != null) {
      keysInFlight.add(unit.keyId);
    }
    int n = inFlight.incrementAndGet();
    maxInFlightSeen.accumulateAndGet(n, Math::max);
    attempt(unit);
  }

  private void release(Unit unit, State to) {
    if (unit.part.units.remove(unit)) {
      inFlight.decrementAndGet();
      if (unit.keyId != null) {
        keysInFlight.remove(unit.keyId);
      }
    }
    unit.entries.forEach(e -> e.state = to);
  }

  private boolean current(Unit unit) {
    return running && parts.get(unit.part.tp) == unit.part && unit.part.units.contains(unit);
  }

  private void attempt(Unit unit) {
    byte[] payload = RecordEvents.payload(unit.entries.stream().map(e -> e.record).toList());
    String requestId = UUID.randomUUID().toString();
    InvocationRequest request =
        new InvocationRequest(
            spec.function(), null, payload, clock.instant().plus(options.invocationTimeout()), requestId, "");
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
                    outcome(unit, requestId, result, error);
                  }
                }));
  }

  private void outcome(Unit unit, String requestId, InvocationResult result, Throwable error) {
    if (error != null) {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof InvocationRejectedException r && isBackPressure(r.reason())) {
        // The platform could not run it now (full, no TD free, shutting down): not a failure of the
        // record, so no attempt is spent and nothing is dead-lettered; pause, try again later.
        Duration wait = r.retryAfter().compareTo(options.overloadPause()) > 0 ? r.retryAfter() : options.overloadPause();
        backoffUntil = clock.instant().plus(wait);
        release(unit, State.QUEUED);
        return;
      }
      String type =
          cause instanceof InvocationRejectedException r ? "Rejected." + r.reason() : cause.getClass().getSimpleName();
      failed(unit, type, String.valueOf(cause.getMessage()));
      return;
    }
    if (!result.succeeded()) {
      failed(unit, result.error().kind() + ":" + result.error().type(), String.valueOf(result.error().message()));
      return;
    }
    if (spec.replyTopic() == null) {
      succeed(unit);
      return;
    }
    ConsumerRecord<byte[], byte[]> first = unit.entries.get(0).record;
    ConsumerRecord<byte[], byte[]> last = unit.entries.get(unit.entries.size() - 1).record;
    String correlation =
        first.topic() + "/" + first.partition() + "/" + first.offset()
            + (first == last ? "" : "-" + last.offset());
    RecordHeaders headers = new RecordHeaders();
    headers.add("confaas-correlation-id", utf8(correlation));
    headers.add("confaas-request-id", utf8(requestId));
    headers.add("confaas-function", utf8(spec.function()));
    if (result.hasReceipt()) {
      headers.add(Receipts.KAFKA_HEADER, utf8(result.receipt()));
    }
    producer.send(
        new ProducerRecord<>(spec.replyTopic(), null, last.key(), result.payload(), headers),
        (md, ex) ->
            post(
                () -> {
                  if (!current(unit)) {
                    return;
                  }
                  if (ex == null) {
                    succeed(unit);
                  } else {
                    failed(unit, "Reply.ProduceFailed", ex.toString());
                  }
                }));
  }

  private static boolean isBackPressure(InvocationRejectedException.Reason reason) {
    return switch (reason) {
      case OVERLOADED, UNAVAILABLE, DEADLINE_EXCEEDED, SHUTTING_DOWN -> true;
      case NOT_FOUND, TD_GONE, TD_REFUSES_FUNCTION, SEALED_REQUEST_REFUSED -> false;
    };
  }

  private void succeed(Unit unit) {
    processed.increment(unit.entries.size());
    release(unit, State.DONE);
  }

  private void failed(Unit unit, String type, String message) {
    unit.attempts++;
    unit.lastErrorType = type;
    unit.lastError = message;
    if (unit.attempts <= spec.maxRetries()) {
      retries.increment();
      retryLater(unit, backoff(unit.attempts));
      return;
    }
    if (spec.deadLetterTopic() == null) {
      if (!warnedNoDlq) {
        warnedNoDlq = true;
        LOG.warn(
            "trigger {}: record {}/{}/{} failed {} times ({}: {}) and there is no dead-letter topic; retrying until it succeeds",
            spec.id(), unit.part.tp.topic(), unit.part.tp.partition(), unit.entries.get(0).record.offset(),
            unit.attempts, type, message);
      }
      retries.increment();
      retryLater(unit, options.backoffCap());
      return;
    }
    deadLetter(unit.part, unit.entries, type, message, unit.attempts, () -> {
      if (current(unit)) {
        release(unit, State.DONE);
      }
    });
  }

  private void retryLater(Unit unit, Duration delay) {
    timer.schedule(
        () ->
            post(
                () -> {
                  if (current(unit)) {
                    attempt(unit);
                  }
                }),
        delay.toNanos(),
        TimeUnit.NANOSECONDS);
  }

  /** Exponential backoff with full jitter: uniform in [base*2^(n-1)/2, base*2^(n-1)], capped. */
  Duration backoff(int attempt) {
    long base = options.backoffBase().toNanos();
    long cap = options.backoffCap().toNanos();
    long exp = attempt >= 30 ? cap : Math.min(cap, base << (attempt - 1));
    long half = exp / 2;
    return Duration.ofNanos(half + ThreadLocalRandom.current().nextLong(half + 1));
  }

  /** Produces each entry to the dead-letter topic; {@code done} runs on this thread after every ack. */
  private void deadLetter(Part part, List<Entry> entries, String type, String message, int attempts, Runnable done) {
    AtomicInteger left = new AtomicInteger(entries.size());
    for (Entry e : entries) {
      ConsumerRecord<byte[], byte[]> r = e.record;
      RecordHeaders headers = new RecordHeaders();
      for (Header h : r.headers()) {
        headers.add(h.key(), h.value());
      }
      headers.add("confaas-function", utf8(spec.function()));
      headers.add("confaas-error", utf8(message));
      headers.add("confaas-error-type", utf8(type));
      headers.add("confaas-attempts", utf8(Integer.toString(attempts)));
      headers.add("confaas-original-topic", utf8(r.topic()));
      headers.add("confaas-original-partition", utf8(Integer.toString(r.partition())));
      headers.add("confaas-original-offset", utf8(Long.toString(r.offset())));
      headers.add("confaas-original-timestamp", utf8(Long.toString(r.timestamp())));
      producer.send(
          new ProducerRecord<>(spec.deadLetterTopic(), null, r.key(), r.value(), headers),
          (md, ex) ->
              post(
                  () -> {
                    if (parts.get(part.tp) != part) {
                      return; // revoked meanwhile: the new owner re-delivers
                    }
                    if (ex != null) {
                      LOG.warn("trigger {}: dead-letter produce failed ({}); retrying", spec.id(), ex.toString());
                      part.stalled = true; // stop and let a restart re-deliver rather than skip
                      return;
                    }
                    if (left.decrementAndGet() == 0) {
                      deadLettered.increment(entries.size());
                      done.run();
                    }
                  }));
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
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
      while (!p.entries.isEmpty() && p.entries.peekFirst().state == State.DONE) {
        p.lastDone = p.entries.pollFirst().record.offset();
      }
      if (p.lastDone < 0) {
        continue;
      }
      long next = p.entries.isEmpty() ? p.lastDone + 1 : p.entries.peekFirst().record.offset();
      if (next > p.committed) {
        offsets.put(tp, new OffsetAndMetadata(next));
      }
    }
    if (offsets.isEmpty()) {
      return;
    }
    if (sync) {
      consumer.commitSync(offsets);
    } else {
      consumer.commitAsync(offsets, (done, e) -> {
        if (e != null) {
          LOG.debug("trigger {}: async commit failed ({}); a later commit or re-delivery covers it", spec.id(), e.toString());
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
    Map<TopicPartition, Long> ends = consumer.endOffsets(parts.keySet(), Duration.ofSeconds(2));
    for (Part p : parts.values()) {
      Long end = ends.get(p.tp);
      if (end == null) {
        continue;
      }
      long committed;
      if (p.committed >= 0) {
        committed = p.committed;
      } else if (!p.entries.isEmpty()) {
        committed = p.entries.peekFirst().record.offset();
      } else {
        try {
          committed = consumer.position(p.tp, Duration.ofMillis(500));
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
          continue; // position not known yet; next round
        }
      }
      lagGauge(p.tp.partition()).set(Math.max(0, end - committed));
    }
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
        LOG.warn("trigger {}: commit on revoke failed; the new owner re-delivers ({})", spec.id(), e.toString());
      }
      drop(revoked);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      drop(lost);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      for (TopicPartition tp : assigned) {
        Part p = new Part(tp);
        OffsetAndMetadata c = consumer.committed(Set.of(tp), Duration.ofSeconds(10)).get(tp);
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
            release(u, State.QUEUED);
          }
          if (p.paused) {
            p.paused = false;
          }
        }
      }
    }
  }

  private Map<String, Object> consumerConfig() {
    Map<String, Object> c = clients.settings();
    c.put(ConsumerConfig.GROUP_ID_CONFIG, spec.group());
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "confaas-trigger-" + spec.id());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxPollRecords());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Math.max(1024 * 1024, spec.maxRecordBytes() + 64 * 1024));
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return c;
  }

  private Map<String, Object> producerConfig() {
    Map<String, Object> c = clients.settings();
    c.put(ProducerConfig.CLIENT_ID_CONFIG, "confaas-trigger-" + spec.id() + "-out");
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return c;
  }

}
