package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.confaas.gateway.AsyncInvocations;
import dev.confaas.gateway.Problem;
import dev.confaas.gateway.Receipts;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AsyncInvocations} kept in Kafka, so an accepted invocation survives a gateway restart, run
 * by the same engine as topic triggers.
 *
 * <ul>
 *   <li>{@link #submit} writes a {@code QUEUED} status to {@value #RESULTS_TOPIC}, then the
 *       invocation to {@value #INVOCATIONS_TOPIC} (both {@code acks=all}; formats in {@link
 *       AsyncRecords}), and completes only after both acknowledgements. The writes run on this
 *       store's own threads, never the caller's; with Kafka unreachable the future fails within
 *       about {@link Tuning#submitTimeout}, at once when too many submissions already wait.
 *   <li>The invocations topic is a trigger with the results topic as its sink: a {@link
 *       TriggerRunner} (consumer group {@value #GROUP}, ordering {@code none}, up to {@code
 *       concurrency} in flight) runs each invocation through the {@link FunctionInvoker} and writes
 *       its outcome to {@value #RESULTS_TOPIC} (compacted, keyed by invocation ID). Each record
 *       completes on its own, and an offset is committed once every invocation before it has its
 *       outcome stored, so one slow invocation holds back no other, and a crash in between runs an
 *       invocation again (at least once). Function errors are not retried: they are the outcome
 *       ({@code FAILED}). A result that cannot be stored (too large for the topic) ends the
 *       invocation {@code FAILED} with reason {@code RESULT_NOT_STORED}; a record the worker
 *       cannot read ends {@code FAILED} with reason {@code UNREADABLE}. Nothing stops the worker.
 *   <li>Memory is bounded. An index remembers where each recent invocation's latest status is
 *       (partition and offset, at most {@link Tuning#indexEntries}); a cache holds recent statuses
 *       with their results (at most {@link Tuning#statusCacheBytes}); a status not cached is read
 *       back from the compacted topic. At start the results topic is read once to rebuild the
 *       index. Results older than the retention are forgotten: both topics have {@code
 *       retention.ms} set to it and lookups check it by the injected clock.
 * </ul>
 */
public final class KafkaAsyncInvocations implements AsyncInvocations {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaAsyncInvocations.class);

  public static final String INVOCATIONS_TOPIC = "confaas.async-invocations";
  public static final String RESULTS_TOPIC = "confaas.async-results";
  public static final String GROUP = "confaas-async";
  /** The {@code trigger} tag of the async worker's metrics. */
  static final String RUNNER_ID = "async";

  /**
   * Tuning beyond what the platform's settings give.
   *
   * @param indexEntries invocations whose status location is remembered (about 150 bytes each)
   * @param statusCacheBytes statuses (results included) kept in memory
   * @param pendingSubmitBytes event bytes of submissions waiting for Kafka at once; more get a
   *     failed future at once
   * @param submitTimeout longest a submission waits for Kafka before failing
   * @param runner the worker's engine tuning
   */
  record Tuning(int indexEntries, long statusCacheBytes, long pendingSubmitBytes, Duration submitTimeout,
      TriggerRunner.Options runner) {
    static Tuning defaults() {
      return new Tuning(200_000, 64L * 1024 * 1024, 64L * 1024 * 1024, Duration.ofSeconds(30),
          TriggerRunner.Options.defaults());
    }
  }

  /** Where an invocation's latest status record is, and whether it is final. */
  private record Location(int partition, long offset, boolean finished, long fromEpochMilli) {}

  /**
   * The index: invocation ID to {@link Location}, at most {@code capacity} entries, the oldest
   * (first written) forgotten first, so a new invocation is always findable. (A frequency-based
   * cache could turn a new entry away in favour of often-polled old ones.)
   */
  private static final class StatusIndex {
    private final int capacity;
    private final LinkedHashMap<String, Location> map = new LinkedHashMap<>();

    StatusIndex(int capacity) {
      this.capacity = capacity;
    }

    synchronized void put(String id, Location at, long expiredBefore) {
      map.put(id, at);
      Iterator<Location> oldest = map.values().iterator();
      while (oldest.hasNext()) {
        Location l = oldest.next();
        if (map.size() > capacity || l.fromEpochMilli() < expiredBefore) {
          oldest.remove();
        } else {
          break;
        }
      }
    }

    synchronized Location get(String id) {
      return map.get(id);
    }

    synchronized void remove(String id) {
      map.remove(id);
    }
  }

  private final KafkaClients clients;
  private final Clock clock;
  private final Duration retention;
  private final Tuning tuning;
  private final KafkaProducer<byte[], byte[]> producer;
  private final StatusIndex index;
  private final Cache<String, Status> recent;
  private final Semaphore pendingKib;
  private final ThreadPoolExecutor sender;
  private final ThreadPoolExecutor reader;
  private KafkaConsumer<byte[], byte[]> readerConsumer; // only on the reader's thread
  private TriggerRunner worker;
  private volatile boolean closed;

  private KafkaAsyncInvocations(KafkaClients clients, Clock clock, Duration retention, Tuning tuning) {
    this.clients = clients;
    this.clock = clock;
    this.retention = retention;
    this.tuning = tuning;
    this.producer = new KafkaProducer<>(KafkaLimits.producer(clients, "confaas-async-out"));
    this.index = new StatusIndex(tuning.indexEntries());
    this.recent = Caffeine.newBuilder()
        .maximumWeight(tuning.statusCacheBytes())
        .weigher((String id, Status s) -> weight(s))
        .expireAfterWrite(retention)
        .executor(Runnable::run) // evict on the writing thread: the bound holds when put returns
        .build();
    this.pendingKib = new Semaphore((int) Math.min(Integer.MAX_VALUE, Math.max(1, tuning.pendingSubmitBytes() / 1024)));
    // Sends may block (metadata, a full buffer) for up to KafkaLimits.MAX_BLOCK: here, not on the
    // caller's event loop. How much may wait is bounded by pendingKib, not by the queue.
    this.sender = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
        daemon("confaas-async-submit"));
    this.reader = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(256),
        daemon("confaas-async-status-reader"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Creates the internal topics when missing, loads recorded statuses, and starts running queued
   * invocations. The worker's metrics are not exported; see the overload with a registry.
   *
   * @param retention how long results (and unrun invocations) are kept
   * @param partitions partitions of the internal topics when they are created
   * @param concurrency invocations run at once
   */
  public static KafkaAsyncInvocations start(
      KafkaClients clients,
      FunctionInvoker invoker,
      Clock clock,
      Duration retention,
      int partitions,
      int concurrency) {
    return start(clients, invoker, clock, retention, partitions, concurrency, new SimpleMeterRegistry());
  }

  /** As the other {@code start}, with the worker's {@code confaas.trigger.*} metrics (trigger {@code async}) in {@code meters}. */
  public static KafkaAsyncInvocations start(
      KafkaClients clients,
      FunctionInvoker invoker,
      Clock clock,
      Duration retention,
      int partitions,
      int concurrency,
      MeterRegistry meters) {
    return start(clients, invoker, clock, retention, partitions, concurrency, meters, Tuning.defaults());
  }

  static KafkaAsyncInvocations start(
      KafkaClients clients,
      FunctionInvoker invoker,
      Clock clock,
      Duration retention,
      int partitions,
      int concurrency,
      MeterRegistry meters,
      Tuning tuning) {
    createTopics(clients, retention, partitions);
    KafkaAsyncInvocations a = new KafkaAsyncInvocations(clients, clock, retention, tuning);
    try {
      a.loadStatuses();
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    TriggerRunner.Consumption consumption = new TriggerRunner.Consumption(RUNNER_ID, "-", INVOCATIONS_TOPIC,
        GROUP, "confaas-async-in", TriggerSpec.Ordering.NONE, concurrency, 1, 0, KafkaLimits.MAX_MESSAGE_BYTES);
    a.worker = new TriggerRunner(consumption, a.new Worker(), clients, invoker, meters, clock, tuning.runner());
    a.worker.start();
    return a;
  }

  // ---- submit ----

  @Override
  public CompletableFuture<String> submit(Submission s) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("async invocations are shut down"));
    }
    if (s.payload().length > KafkaLimits.MAX_EVENT_BYTES) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("the event is " + s.payload().length
          + " bytes; async invocations take at most " + KafkaLimits.MAX_EVENT_BYTES + " bytes (6 MiB)"));
    }
    int permits = Math.max(1, s.payload().length / 1024);
    if (!pendingKib.tryAcquire(permits)) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "too many async invocations are waiting to be stored in Kafka (" + tuning.pendingSubmitBytes() / 1024
              + " KiB of events); try again shortly"));
    }
    String id = UUID.randomUUID().toString();
    Instant now = clock.instant();
    AsyncRecords.Invocation inv = new AsyncRecords.Invocation(id, s.function(), s.version(), s.payload(),
        s.timeout() == null ? 60_000 : s.timeout().toMillis(), s.traceId(), s.clientContext(), "", now,
        s.sealed(), s.targetTd());
    Status queued = new Status(id, s.function(), State.QUEUED, now, null, null, null, null, null, null, s.sealed());
    AtomicBoolean givenUp = new AtomicBoolean();
    CompletableFuture<String> stored;
    try {
      stored = CompletableFuture.supplyAsync(() -> null, sender)
          .thenCompose(x -> store(queued))
          // Not on the producer's I/O thread, where the callback runs: send() may wait for
          // metadata that only that thread can fetch.
          .thenComposeAsync(x -> {
            if (givenUp.get()) {
              throw new CompletionException(new TimeoutException("gave up before queueing it"));
            }
            return send(AsyncRecords.invocation(INVOCATIONS_TOPIC, inv));
          }, sender)
          .thenApply(x -> id);
    } catch (RejectedExecutionException e) {
      stored = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<String> answer = new CompletableFuture<>();
    stored.orTimeout(tuning.submitTimeout().toMillis(), TimeUnit.MILLISECONDS).whenComplete((x, err) -> {
      pendingKib.release(permits);
      if (err == null) {
        answer.complete(id);
        return;
      }
      givenUp.set(true);
      recent.invalidate(id);
      index.remove(id);
      Throwable cause = unwrap(err);
      String why = cause instanceof TimeoutException
          ? "Kafka did not acknowledge it within " + tuning.submitTimeout().toSeconds() + " s"
          : String.valueOf(cause.getMessage());
      answer.completeExceptionally(new IllegalStateException(
          "could not store the invocation in Kafka at " + clients.bootstrapServers() + ": " + why, cause));
    });
    return answer;
  }

  // ---- status ----

  @Override
  public CompletableFuture<Optional<Status>> lookup(String invocationId) {
    Status s = recent.getIfPresent(invocationId);
    if (s != null) {
      return CompletableFuture.completedFuture(expired(s) ? Optional.empty() : Optional.of(s));
    }
    Location at = index.get(invocationId);
    if (at == null || Instant.ofEpochMilli(at.fromEpochMilli()).plus(retention).isBefore(clock.instant())) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    try {
      return CompletableFuture.supplyAsync(() -> readBack(invocationId, at), reader);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "too many invocation statuses are being read from Kafka now; try again shortly", e));
    }
  }

  private long expiredBefore() {
    return clock.instant().minus(retention).toEpochMilli();
  }

  private boolean expired(Status s) {
    Instant from = s.finishedAt() != null ? s.finishedAt() : s.acceptedAt();
    return from.plus(retention).isBefore(clock.instant());
  }

  /** Reads the status record at {@code at} (on the reader's thread). */
  private Optional<Status> readBack(String id, Location at) {
    if (readerConsumer == null) {
      Map<String, Object> c = KafkaLimits.consumer(clients, "confaas-async-status-reader");
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
      c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
      readerConsumer = new KafkaConsumer<>(c);
    }
    TopicPartition tp = new TopicPartition(RESULTS_TOPIC, at.partition());
    readerConsumer.assign(List.of(tp));
    readerConsumer.seek(tp, at.offset());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      Iterable<ConsumerRecord<byte[], byte[]>> polled;
      try {
        polled = readerConsumer.poll(Duration.ofMillis(200));
      } catch (org.apache.kafka.clients.consumer.InvalidOffsetException e) {
        return Optional.empty(); // deleted by retention meanwhile
      }
      for (ConsumerRecord<byte[], byte[]> r : polled) {
        if (r.offset() < at.offset()) {
          continue;
        }
        if (!AsyncRecords.idOf(r).equals(id)) {
          return Optional.empty(); // compacted away: a newer status exists, the index will have it
        }
        try {
          Status s = AsyncRecords.readStatus(r);
          if (s == null || expired(s)) {
            return Optional.empty();
          }
          recent.put(id, s);
          return Optional.of(s);
        } catch (IOException e) {
          throw new IllegalStateException("the status of invocation " + id + " cannot be read: " + e.getMessage(), e);
        }
      }
    }
    throw new IllegalStateException("Kafka at " + clients.bootstrapServers() + " did not return the status of "
        + "invocation " + id + " in time");
  }

  // ---- storage ----

  /** Writes a status; on acknowledgement the index and the cache learn it. */
  private CompletableFuture<Void> store(Status s) {
    return send(AsyncRecords.status(RESULTS_TOPIC, s)).thenAccept(md -> {
      Instant from = s.finishedAt() != null ? s.finishedAt() : s.acceptedAt();
      index.put(s.id(), new Location(md.partition(), md.offset(), AsyncRecords.isFinal(s.state()),
          from.toEpochMilli()), expiredBefore());
      recent.put(s.id(), s);
    });
  }

  private CompletableFuture<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
    CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
    try {
      producer.send(record, (md, ex) -> {
        if (ex == null) {
          f.complete(md);
        } else {
          f.completeExceptionally(ex);
        }
      });
    } catch (RuntimeException e) {
      f.completeExceptionally(e);
    }
    return f;
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** A status's share of {@link Tuning#statusCacheBytes}: its bytes and a little for the rest. */
  private static int weight(Status s) {
    long w = 256L + (s.result() == null ? 0 : s.result().length) + (s.error() == null ? 0 : s.error().length())
        + (s.receipt() == null ? 0 : s.receipt().length());
    return (int) Math.min(Integer.MAX_VALUE, w);
  }

  /** Reads the results topic from the beginning into the index (statuses not final into the cache too). */
  private void loadStatuses() {
    Map<String, Object> c = KafkaLimits.consumer(clients, "confaas-async-status-loader");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo p : con.partitionsFor(RESULTS_TOPIC, Duration.ofSeconds(30))) {
        tps.add(new TopicPartition(p.topic(), p.partition()));
      }
      con.assign(tps);
      con.seekToBeginning(tps);
      Map<TopicPartition, Long> end = con.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (tps.stream().anyMatch(tp -> con.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("timed out reading " + RESULTS_TOPIC + " from Kafka at "
              + clients.bootstrapServers());
        }
        for (ConsumerRecord<byte[], byte[]> r : con.poll(Duration.ofMillis(200))) {
          String id = AsyncRecords.idOf(r);
          try {
            Status s = AsyncRecords.readStatus(r);
            if (s == null || expired(s)) {
              index.remove(id);
              recent.invalidate(id);
              continue;
            }
            Instant from = s.finishedAt() != null ? s.finishedAt() : s.acceptedAt();
            boolean fin = AsyncRecords.isFinal(s.state());
            index.put(id, new Location(r.partition(), r.offset(), fin, from.toEpochMilli()), expiredBefore());
            if (fin) {
              recent.invalidate(id);
            } else {
              recent.put(id, s);
            }
          } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable async status at {}/{}: {}", r.partition(), r.offset(), e.getMessage());
          }
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    if (worker != null) {
      worker.close();
    }
    sender.shutdown();
    reader.shutdown();
    try {
      sender.awaitTermination(10, TimeUnit.SECONDS);
      reader.awaitTermination(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
    if (readerConsumer != null) {
      readerConsumer.close(Duration.ofSeconds(5));
    }
  }

  /** Whether the worker's consumer runs now; see {@link TriggerRunner#state()}. */
  String workerState() {
    return worker.state().name();
  }

  /**
   * The async queue's route: invocation records become invocations; outcomes become statuses on
   * the results topic (its "dead letters" are {@code FAILED} and {@code REJECTED} statuses).
   */
  private final class Worker implements RecordRoute {
    @Override
    public InvocationRequest invocation(List<ConsumerRecord<byte[], byte[]>> records, String requestId, Instant now) {
      return AsyncRecords.readInvocation(records.get(0)).request(now);
    }

    @Override
    public boolean alreadyDone(ConsumerRecord<byte[], byte[]> record) {
      Location at = index.get(AsyncRecords.idOf(record));
      return at != null && at.finished(); // ran before a crash; its outcome is stored
    }

    @Override
    public void started(List<ConsumerRecord<byte[], byte[]>> records, InvocationRequest request) {
      AsyncRecords.Invocation inv = AsyncRecords.readInvocation(records.get(0));
      recent.put(inv.id(), new Status(inv.id(), inv.function(), State.RUNNING, inv.acceptedAt(), null, null,
          null, null, null, null, inv.sealed()));
    }

    @Override
    public CompletableFuture<Void> succeeded(
        List<ConsumerRecord<byte[], byte[]>> records, InvocationRequest request, InvocationResult result) {
      AsyncRecords.Invocation inv = AsyncRecords.readInvocation(records.get(0));
      return store(new Status(inv.id(), inv.function(), State.SUCCEEDED, inv.acceptedAt(), clock.instant(),
          inv.sealed() ? result.sealedResponse() : result.payload(), null, result.tdId(), result.imageId(),
          Receipts.of(result), inv.sealed()));
    }

    @Override
    public boolean deadLetters() {
      return true;
    }

    @Override
    public CompletableFuture<Void> deadLetter(ConsumerRecord<byte[], byte[]> record, Failure failure, String notWhole) {
      String id = AsyncRecords.idOf(record);
      String function;
      Instant accepted;
      boolean sealed;
      try {
        AsyncRecords.Invocation inv = AsyncRecords.readInvocation(record);
        function = inv.function();
        accepted = inv.acceptedAt();
        sealed = inv.sealed();
      } catch (Unreadable e) {
        function = AsyncRecords.functionOf(record);
        accepted = Instant.ofEpochMilli(record.timestamp());
        sealed = false;
      }
      InvocationResult r = failure.result();
      State state = switch (failure.kind()) {
        case REJECTED, INVOKER_ERROR -> State.REJECTED;
        default -> State.FAILED;
      };
      String error;
      if (failure.kind() == FailureKind.FUNCTION_ERROR && notWhole == null) {
        error = Problem.functionError(r.error()).encode();
      } else {
        ObjectNode e = TriggerJson.MAPPER.createObjectNode();
        e.put("reason", reason(failure));
        e.put("message", notWhole == null ? failure.message() : TopicRoute.shorten(failure.message(), 4096));
        if (notWhole != null) {
          e.put("note", "the full error could not be stored: " + TopicRoute.shorten(notWhole, 512));
        }
        error = e.toString();
      }
      // A sealed function error's document is inside the TD's encapsulated response: keep it for the
      // caller (ciphertext; the host sees only the kind). A TD lost mid-run sealed nothing.
      byte[] sealedResponse = sealed && notWhole == null && r != null && r.sealed() ? r.sealedResponse() : null;
      return store(new Status(id, function, state, accepted, clock.instant(), sealedResponse, error,
          r == null ? null : r.tdId(), r == null ? null : r.imageId(), r == null ? null : Receipts.of(r), sealed));
    }

    private static String reason(Failure f) {
      return switch (f.kind()) {
        case REJECTED -> ((InvocationRejectedException) f.cause()).reason().name();
        case INVOKER_ERROR -> "INTERNAL";
        case FUNCTION_ERROR -> "FUNCTION_ERROR";
        case NOT_DELIVERED -> "RESULT_NOT_STORED";
        case TOO_LARGE -> "TOO_LARGE";
        case UNREADABLE -> "UNREADABLE";
      };
    }

    @Override
    public void close() {
      // The producer is the store's; it closes it after the worker.
    }
  }

  // ---- topics ----

  private static void createTopics(KafkaClients clients, Duration retention, int partitions) {
    String ms = Long.toString(retention.toMillis());
    String bootstrapServers = clients.bootstrapServers();
    String maxMessage = Integer.toString(KafkaLimits.MAX_MESSAGE_BYTES);
    try (Admin admin = Admin.create(clients.settings())) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> topics = new ArrayList<>();
      if (!existing.contains(INVOCATIONS_TOPIC)) {
        topics.add(new NewTopic(INVOCATIONS_TOPIC, Optional.of(partitions), Optional.empty())
            .configs(Map.of("retention.ms", ms, TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxMessage)));
      }
      if (!existing.contains(RESULTS_TOPIC)) {
        topics.add(new NewTopic(RESULTS_TOPIC, Optional.of(partitions), Optional.empty())
            .configs(Map.of("cleanup.policy", "compact,delete", "retention.ms", ms,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxMessage)));
      }
      if (!topics.isEmpty()) {
        try {
          admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
      // Topics made by an earlier version (or by hand) take records of the documented sizes too.
      Map<ConfigResource, Collection<AlterConfigOp>> sizes = Map.of(
          new ConfigResource(ConfigResource.Type.TOPIC, INVOCATIONS_TOPIC), List.of(setMaxMessage(maxMessage)),
          new ConfigResource(ConfigResource.Type.TOPIC, RESULTS_TOPIC), List.of(setMaxMessage(maxMessage)));
      try {
        admin.incrementalAlterConfigs(sizes).all().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        LOG.warn("could not set max.message.bytes={} on {} and {} ({}); records over the topics' limit will fail",
            maxMessage, INVOCATIONS_TOPIC, RESULTS_TOPIC, e.getCause().toString());
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not create " + INVOCATIONS_TOPIC + "/" + RESULTS_TOPIC + " on Kafka at " + bootstrapServers
              + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating async topics", e);
    }
  }

  private static AlterConfigOp setMaxMessage(String bytes) {
    return new AlterConfigOp(new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, bytes), AlterConfigOp.OpType.SET);
  }
}
