package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.gateway.AsyncInvocations;
import dev.confaas.gateway.Problem;
import dev.confaas.gateway.Receipts;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AsyncInvocations} kept in Kafka, so an accepted invocation survives a gateway restart.
 *
 * <ul>
 *   <li>{@link #submit} writes a {@code QUEUED} status to {@value #RESULTS_TOPIC}, then the
 *       invocation to {@value #INVOCATIONS_TOPIC} (both {@code acks=all}), and completes only after
 *       both acknowledgements.
 *   <li>A consumer group ({@value #GROUP}) runs the invocations through the {@link FunctionInvoker}
 *       and writes each outcome to {@value #RESULTS_TOPIC} (compacted, keyed by invocation ID); it
 *       commits an invocation's offset only after its outcome is acknowledged. A crash in between
 *       runs the invocation again (at least once).
 *   <li>At start the results topic is read from the beginning into memory, so {@link #status}
 *       answers for invocations accepted before a restart. Results older than the retention are
 *       forgotten: both topics have {@code retention.ms} set to it and the in-memory copy expires
 *       by the injected clock.
 * </ul>
 */
public final class KafkaAsyncInvocations implements AsyncInvocations {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaAsyncInvocations.class);

  public static final String INVOCATIONS_TOPIC = "confaas.async-invocations";
  public static final String RESULTS_TOPIC = "confaas.async-results";
  public static final String GROUP = "confaas-async";
  private static final int MAX_OVERLOAD_RETRIES = 20;

  private final String bootstrapServers;
  private final KafkaClients clients;
  private final FunctionInvoker invoker;
  private final Clock clock;
  private final Duration retention;
  private final int concurrency;
  private final Map<String, Status> statuses = new ConcurrentHashMap<>();
  private final KafkaProducer<String, byte[]> producer;
  private final Thread worker;
  private volatile boolean running = true;
  private volatile KafkaConsumer<String, byte[]> consumer;

  private KafkaAsyncInvocations(
      KafkaClients clients, FunctionInvoker invoker, Clock clock, Duration retention, int concurrency) {
    this.bootstrapServers = clients.bootstrapServers();
    this.clients = clients;
    this.invoker = invoker;
    this.clock = clock;
    this.retention = retention;
    this.concurrency = concurrency;
    Map<String, Object> p = clients.settings();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "confaas-async-out");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    this.producer = new KafkaProducer<>(p);
    this.worker = new Thread(this::work, "confaas-async-worker");
    worker.setDaemon(true);
  }

  /**
   * Creates the internal topics when missing, loads recorded results, and starts running queued
   * invocations.
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
    createTopics(clients, retention, partitions);
    KafkaAsyncInvocations a = new KafkaAsyncInvocations(clients, invoker, clock, retention, concurrency);
    try {
      a.loadResults();
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    a.worker.start();
    return a;
  }

  @Override
  public CompletableFuture<String> submit(Submission s) {
    if (!running) {
      return CompletableFuture.failedFuture(new IllegalStateException("async invocations are shut down"));
    }
    String id = UUID.randomUUID().toString();
    Instant now = clock.instant();
    Status queued = new Status(id, s.function(), State.QUEUED, now, null, null, null, null, null);
    ObjectNode inv = TriggerJson.MAPPER.createObjectNode();
    inv.put("id", id);
    inv.put("function", s.function());
    inv.put("version", s.version());
    inv.put("payload", Base64.getEncoder().encodeToString(s.payload()));
    inv.put("timeoutMs", s.timeout() == null ? 60_000 : s.timeout().toMillis());
    inv.put("traceId", s.traceId());
    inv.put("acceptedAt", now.toString());
    statuses.put(id, queued);
    return send(RESULTS_TOPIC, id, statusJson(queued))
        // Not on the producer's I/O thread, where the callback runs: send() may wait for metadata
        // that only that thread can fetch.
        .thenComposeAsync(x -> send(INVOCATIONS_TOPIC, id, bytes(inv)))
        .handle(
            (x, err) -> {
              if (err != null) {
                statuses.remove(id, queued);
                throw new CompletionException(
                    new IllegalStateException("could not store the invocation in Kafka: " + err.getMessage(), err));
              }
              return id;
            });
  }

  @Override
  public Optional<Status> status(String invocationId) {
    Status s = statuses.get(invocationId);
    if (s == null) {
      return Optional.empty();
    }
    if (expired(s)) {
      statuses.remove(invocationId, s);
      return Optional.empty();
    }
    return Optional.of(s);
  }

  private boolean expired(Status s) {
    Instant from = s.finishedAt() != null ? s.finishedAt() : s.acceptedAt();
    return from.plus(retention).isBefore(clock.instant());
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    if (worker.isAlive()) {
      try {
        worker.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    producer.close(Duration.ofSeconds(5));
  }

  // ---- worker ----

  private void work() {
    Map<String, Object> c = clients.settings();
    c.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "confaas-async-in");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, concurrency);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<String, byte[]> con = new KafkaConsumer<>(c)) {
      consumer = con;
      if (!running) {
        return;
      }
      con.subscribe(List.of(INVOCATIONS_TOPIC));
      while (running) {
        try {
          var records = con.poll(Duration.ofMillis(200));
          if (records.isEmpty()) {
            continue;
          }
          List<CompletableFuture<Void>> recorded = new ArrayList<>();
          for (ConsumerRecord<String, byte[]> r : records) {
            recorded.add(run(r));
          }
          // Commit only once every outcome of this poll is acknowledged.
          CompletableFuture<Void> all = CompletableFuture.allOf(recorded.toArray(CompletableFuture[]::new));
          while (running) {
            try {
              all.get(200, TimeUnit.MILLISECONDS);
              break;
            } catch (TimeoutException e) {
              // keep the group membership alive while functions run
              con.pause(con.assignment());
              con.poll(Duration.ZERO);
            }
          }
          if (!running) {
            break;
          }
          con.resume(con.paused());
          try {
            con.commitSync();
          } catch (org.apache.kafka.clients.consumer.CommitFailedException e) {
            // A rebalance took the partitions; their new owner runs these again (at least once).
            LOG.warn("async invocations: commit failed after a rebalance; outcomes may be recomputed");
          }
        } catch (WakeupException e) {
          // close() woke us
        } catch (ExecutionException e) {
          LOG.error("async invocation outcome could not be recorded; will run again after a restart", e);
          running = false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
  }

  private CompletableFuture<Void> run(ConsumerRecord<String, byte[]> r) {
    JsonNode inv;
    try {
      inv = TriggerJson.MAPPER.readTree(r.value());
    } catch (IOException | RuntimeException e) {
      LOG.error("skipping unreadable async invocation at {}/{}", r.partition(), r.offset());
      return CompletableFuture.completedFuture(null);
    }
    String id = inv.path("id").asText(r.key());
    Status known = statuses.get(id);
    if (known != null && isFinal(known.state())) {
      return CompletableFuture.completedFuture(null); // ran before a crash; outcome already recorded
    }
    String function = inv.path("function").asText();
    Instant accepted = Instant.parse(inv.path("acceptedAt").asText(clock.instant().toString()));
    statuses.put(id, new Status(id, function, State.RUNNING, accepted, null, null, null, null, null));
    byte[] payload = Base64.getDecoder().decode(inv.path("payload").asText(""));
    Duration timeout = Duration.ofMillis(inv.path("timeoutMs").asLong(60_000));
    String version = inv.hasNonNull("version") ? inv.get("version").asText() : null;
    return attempt(id, function, version, payload, timeout, inv.path("traceId").asText(""), 0)
        .handle((result, err) -> outcome(id, function, accepted, result, err))
        .thenComposeAsync(status -> {
          statuses.put(id, status);
          return send(RESULTS_TOPIC, id, statusJson(status)).thenApply(x -> (Void) null);
        });
  }

  private CompletableFuture<InvocationResult> attempt(
      String id, String function, String version, byte[] payload, Duration timeout, String traceId, int tries) {
    InvocationRequest req =
        new InvocationRequest(function, version, payload, clock.instant().plus(timeout), id, traceId);
    CompletableFuture<InvocationResult> f;
    try {
      f = invoker.invoke(req);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.exceptionallyCompose(err -> {
      Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      if (cause instanceof InvocationRejectedException r
          && r.reason() == InvocationRejectedException.Reason.OVERLOADED
          && tries < MAX_OVERLOAD_RETRIES
          && running) {
        long wait = Math.max(100, r.retryAfter().toMillis());
        return CompletableFuture.supplyAsync(
                () -> null, CompletableFuture.delayedExecutor(wait, TimeUnit.MILLISECONDS))
            .thenCompose(x -> attempt(id, function, version, payload, timeout, traceId, tries + 1));
      }
      return CompletableFuture.failedFuture(cause);
    });
  }

  private Status outcome(String id, String function, Instant accepted, InvocationResult result, Throwable err) {
    Instant now = clock.instant();
    if (err != null) {
      Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      ObjectNode e = TriggerJson.MAPPER.createObjectNode();
      e.put("reason", cause instanceof InvocationRejectedException r ? r.reason().name() : "INTERNAL");
      e.put("message", String.valueOf(cause.getMessage()));
      return new Status(id, function, State.REJECTED, accepted, now, null, e.toString(), null, null);
    }
    if (!result.succeeded()) {
      String e = Problem.functionError(result.error()).encode();
      return new Status(id, function, State.FAILED, accepted, now, null, e, result.tdId(), result.imageId(),
          Receipts.of(result));
    }
    return new Status(id, function, State.SUCCEEDED, accepted, now, result.payload(), null, result.tdId(),
        result.imageId(), Receipts.of(result));
  }

  private static boolean isFinal(State s) {
    return s == State.SUCCEEDED || s == State.FAILED || s == State.REJECTED;
  }

  // ---- storage ----

  private CompletableFuture<Void> send(String topic, String key, byte[] value) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    try {
      producer.send(
          new ProducerRecord<>(topic, key, value),
          (md, ex) -> {
            if (ex == null) {
              f.complete(null);
            } else {
              f.completeExceptionally(ex);
            }
          });
    } catch (RuntimeException e) {
      f.completeExceptionally(e);
    }
    return f;
  }

  private void loadResults() {
    Map<String, Object> c = clients.settings();
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<String, byte[]> con = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo p : con.partitionsFor(RESULTS_TOPIC, Duration.ofSeconds(30))) {
        tps.add(new TopicPartition(p.topic(), p.partition()));
      }
      con.assign(tps);
      con.seekToBeginning(tps);
      Map<TopicPartition, Long> end = con.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (tps.stream().anyMatch(tp -> con.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("timed out reading " + RESULTS_TOPIC + " from Kafka at " + bootstrapServers);
        }
        for (ConsumerRecord<String, byte[]> r : con.poll(Duration.ofMillis(200))) {
          if (r.value() == null) {
            statuses.remove(r.key());
            continue;
          }
          try {
            Status s = parseStatus(r.value());
            if (!expired(s)) {
              statuses.put(s.id(), s);
            } else {
              statuses.remove(s.id());
            }
          } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable async result at {}/{}", r.partition(), r.offset());
          }
        }
      }
    }
  }

  private static byte[] statusJson(Status s) {
    ObjectNode n = TriggerJson.MAPPER.createObjectNode();
    n.put("id", s.id());
    n.put("function", s.function());
    n.put("state", s.state().name());
    n.put("acceptedAt", s.acceptedAt().toString());
    n.put("finishedAt", s.finishedAt() == null ? null : s.finishedAt().toString());
    n.put("result", s.result() == null ? null : Base64.getEncoder().encodeToString(s.result()));
    n.put("error", s.error());
    n.put("tdId", s.tdId());
    n.put("imageId", s.imageId());
    n.put("receipt", s.receipt());
    return bytes(n);
  }

  private static Status parseStatus(byte[] json) throws IOException {
    JsonNode n = TriggerJson.MAPPER.readTree(json);
    return new Status(
        n.path("id").asText(),
        n.path("function").asText(),
        State.valueOf(n.path("state").asText()),
        Instant.parse(n.path("acceptedAt").asText()),
        n.hasNonNull("finishedAt") ? Instant.parse(n.get("finishedAt").asText()) : null,
        n.hasNonNull("result") ? Base64.getDecoder().decode(n.get("result").asText()) : null,
        n.hasNonNull("error") ? n.get("error").asText() : null,
        n.hasNonNull("tdId") ? n.get("tdId").asText() : null,
        n.hasNonNull("imageId") ? n.get("imageId").asText() : null,
        n.hasNonNull("receipt") ? n.get("receipt").asText() : null);
  }

  private static byte[] bytes(JsonNode n) {
    try {
      return TriggerJson.MAPPER.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void createTopics(KafkaClients clients, Duration retention, int partitions) {
    String ms = Long.toString(retention.toMillis());
    String bootstrapServers = clients.bootstrapServers();
    try (Admin admin = Admin.create(clients.settings())) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> topics = new ArrayList<>();
      if (!existing.contains(INVOCATIONS_TOPIC)) {
        topics.add(new NewTopic(INVOCATIONS_TOPIC, Optional.of(partitions), Optional.empty())
            .configs(Map.of("retention.ms", ms)));
      }
      if (!existing.contains(RESULTS_TOPIC)) {
        topics.add(new NewTopic(RESULTS_TOPIC, Optional.of(partitions), Optional.empty())
            .configs(Map.of("cleanup.policy", "compact,delete", "retention.ms", ms)));
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
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not create " + INVOCATIONS_TOPIC + "/" + RESULTS_TOPIC + " on Kafka at " + bootstrapServers
              + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating async topics", e);
    }
  }
}
