package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.FAST;
import static dev.confaas.gateway.kafka.KafkaTestSupport.await;
import static dev.confaas.gateway.kafka.KafkaTestSupport.committed;
import static dev.confaas.gateway.kafka.KafkaTestSupport.createTopic;
import static dev.confaas.gateway.kafka.KafkaTestSupport.error;
import static dev.confaas.gateway.kafka.KafkaTestSupport.function;
import static dev.confaas.gateway.kafka.KafkaTestSupport.json;
import static dev.confaas.gateway.kafka.KafkaTestSupport.ok;
import static dev.confaas.gateway.kafka.KafkaTestSupport.produce;
import static dev.confaas.gateway.kafka.KafkaTestSupport.readAll;
import static dev.confaas.gateway.kafka.KafkaTestSupport.record;
import static dev.confaas.gateway.kafka.KafkaTestSupport.text;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.confaas.gateway.Gateway;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.gateway.FunctionRegistry;
import dev.confaas.gateway.InMemoryAsyncInvocations;
import dev.confaas.gateway.ProblemAssertions;
import dev.confaas.gateway.TdDirectory;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Triggers against one real embedded broker shared by every test here. */
class TriggerTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir static Path brokerDir;
  static EmbeddedKafka kafka;
  static KafkaClients bootstrap;
  static org.apache.kafka.clients.admin.Admin admin;

  @TempDir Path dataDir;
  final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(brokerDir, 0);
    bootstrap = kafka.platformClients();
    admin = KafkaTestSupport.admin(bootstrap);
  }

  @AfterAll
  static void stopBroker() {
    admin.close();
    kafka.close();
  }

  private TriggerManager manager(FunctionInvoker invoker) {
    return new TriggerManager(new TriggerStore(dataDir), bootstrap, invoker, metrics, Clock.systemUTC(), 3, FAST);
  }

  private static String topic(String name) {
    return name + "-" + Long.toHexString(System.nanoTime());
  }

  @Test
  void everyRecordIsProcessedAndCommittedInOrderPerPartition() throws Exception {
    String topic = topic("orders");
    createTopic(bootstrap, topic, 3);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      records.add(record(topic, i % 3, "k" + i, "order-" + i));
    }
    produce(bootstrap, records);
    Map<Integer, List<Long>> seen = new ConcurrentHashMap<>();
    FunctionInvoker fn =
        function(r -> {
          JsonNode e = json(r.payload());
          seen.computeIfAbsent(e.get("partition").asInt(), p -> Collections.synchronizedList(new ArrayList<>()))
              .add(e.get("offset").asLong());
          return ok(r, utf8("done"));
        });
    TriggerSpec spec =
        new TriggerSpec(null, "orders-fn", topic, null, null, null, 3, 1, TriggerSpec.Ordering.PARTITION, 3, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      await(
          "all 500 records are committed",
          () -> committedSum(added.group()) == 500,
          () -> "committed " + safeCommitted(added.group()));
      TriggerManager.Status status = m.status(added.id()).orElseThrow();
      await("lag reaches 0", () -> m.status(added.id()).orElseThrow().lag().values().stream().allMatch(l -> l == 0),
          () -> "lag " + m.status(added.id()).orElseThrow().lag());
      assertEquals(3, m.status(added.id()).orElseThrow().lag().size(), "lag is reported per partition: " + status);
      double processed = metrics.find("confaas.trigger.records.processed").counter().count();
      assertTrue(processed >= 500, "processed counter counts every record, was " + processed);
    }
    for (int p = 0; p < 3; p++) {
      List<Long> offsets = seen.get(p);
      List<Long> sorted = new ArrayList<>(offsets);
      Collections.sort(sorted);
      assertEquals(sorted, offsets, "partition " + p + " was delivered out of order");
      int expected = p == 2 ? 166 : 167;
      assertEquals(expected, new HashSet<>(offsets).size(), "partition " + p + ": every record delivered");
    }
  }

  @Test
  void theTriggerApiAnswersEveryErrorAsAProblem() throws Exception {
    TriggerManager m = manager(function(r -> ok(r, utf8("ok"))));
    Path gatewayData = dataDir.resolve("gateway");
    FunctionInvoker none = r -> CompletableFuture.failedFuture(new IllegalStateException("unused"));
    Gateway gateway = new Gateway(
        GatewayConfig.builder(gatewayData)
            .mount("/v1/triggers", vertx -> TriggerApi.router(vertx, m, Set.of("thumbnail")::contains))
            .build(),
        none, FunctionRegistry.open(gatewayData, Clock.systemUTC()),
        new InMemoryAsyncInvocations(none, Clock.systemUTC(), Duration.ofHours(1), Duration.ofMinutes(1)),
        TdDirectory.NONE, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    HttpClient http = HttpClient.newHttpClient();
    URI base = gateway.url().resolve("/v1/triggers");
    try {
      String token = "Bearer " + gateway.adminToken();
      HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(base).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      ProblemAssertions.assertProblem(anonymous, 401, "UNAUTHORIZED");

      java.util.function.BiFunction<String, String, HttpResponse<String>> call = (method, body) -> {
        String[] parts = method.split(" ", 2);
        URI uri = parts.length > 1 ? gateway.url().resolve(parts[1]) : base;
        try {
          return http.send(HttpRequest.newBuilder(uri).header("Authorization", token)
              .method(parts[0], body == null ? HttpRequest.BodyPublishers.noBody()
                  : HttpRequest.BodyPublishers.ofString(body)).build(),
              HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
          throw new AssertionError(method + " failed: " + e, e);
        }
      };
      String topic = topic("uploads");
      JsonObject badJson = ProblemAssertions.assertProblem(call.apply("POST", "{\"function\":"), 400,
          "INVALID_JSON");
      assertTrue(badJson.getString("detail").contains("JSON trigger"), badJson.encode());
      JsonObject noTopic = ProblemAssertions.assertProblem(
          call.apply("POST", "{\"function\":\"thumbnail\"}"), 400, "INVALID_TRIGGER");
      assertTrue(noTopic.getString("detail").contains("topic"), noTopic.encode());
      JsonObject noFunction = ProblemAssertions.assertProblem(
          call.apply("POST", "{\"function\":\"nobody\",\"topic\":\"" + topic + "\"}"), 404,
          "NOT_FOUND");
      assertTrue(noFunction.getString("detail").contains("'nobody'"), noFunction.encode());

      String trigger = "{\"function\":\"thumbnail\",\"topic\":\"" + topic + "\"}";
      HttpResponse<String> added = call.apply("POST", trigger);
      assertEquals(201, added.statusCode(), added.body());
      JsonObject created = new JsonObject(added.body());
      assertEquals("value", created.getString("event"), "new triggers deliver the record value: " + created);
      String createdId = created.getString("id");
      KafkaTestSupport.await("the new trigger runs", () -> new JsonObject(
          call.apply("GET /v1/triggers/" + createdId, null).body()).getString("state").equals("RUNNING"));
      JsonObject detail = new JsonObject(call.apply("GET /v1/triggers/" + createdId, null).body());
      assertEquals(true, detail.getBoolean("running"), detail.encode());
      assertEquals(0L, detail.getLong("restarts"), detail.encode());
      assertTrue(detail.containsKey("lastError") && detail.containsKey("lagAt"), detail.encode());
      JsonObject conflict = ProblemAssertions.assertProblem(call.apply("POST", trigger), 409,
          "TRIGGER_CONFLICT");
      assertTrue(conflict.getString("detail").contains(topic), conflict.encode());

      ProblemAssertions.assertProblem(call.apply("GET /v1/triggers/trg-nope", null), 404, "NOT_FOUND");
      ProblemAssertions.assertProblem(call.apply("DELETE /v1/triggers/trg-nope", null), 404,
          "NOT_FOUND");
      ProblemAssertions.assertProblem(call.apply("PUT /v1/triggers/trg-nope", "{}"), 405,
          "METHOD_NOT_ALLOWED");
      ProblemAssertions.assertProblem(call.apply("POST", "{\"pad\":\"" + "x".repeat(70 * 1024) + "\"}"),
          413, "BODY_TOO_LARGE");

      m.close(); // what the API sees when Kafka (or the manager) is gone
      ProblemAssertions.assertProblem(call.apply("POST",
          "{\"function\":\"thumbnail\",\"topic\":\"" + topic("other") + "\"}"), 503, "UNAVAILABLE");
    } finally {
      gateway.close();
      m.close();
    }
  }

  private static long committedSum(String group) {
    return KafkaTestSupport.committedSum(admin, group);
  }

  private static String safeCommitted(String group) {
    try {
      return committed(admin, group).toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  @Test
  void failingRecordsReachTheDeadLetterTopicAfterTheRetriesWithTheirHeaders() throws Exception {
    String topic = topic("payments");
    String dlq = topic + ".dlq";
    createTopic(bootstrap, topic, 1);
    Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    FunctionInvoker fn =
        function(r -> {
          JsonNode e = json(r.payload());
          String v = e.get("value").asText();
          attempts.computeIfAbsent(v, x -> new AtomicInteger()).incrementAndGet();
          return v.startsWith("bad") ? error(r, "CardDeclined", "card declined for " + v) : ok(r, utf8("ok"));
        });
    ProducerRecord<byte[], byte[]> bad = record(topic, 0, "customer-7", "bad-1");
    bad.headers().add(new RecordHeader("trace", utf8("abc")));
    produce(bootstrap, List.of(record(topic, 0, "c1", "good-1"), bad, record(topic, 0, "c2", "good-2")));
    TriggerSpec spec =
        new TriggerSpec(null, "pay", topic, null, null, dlq, 2, 1, TriggerSpec.Ordering.PARTITION, 1, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      List<ConsumerRecord<byte[], byte[]>> dead = readAll(bootstrap, dlq, 1);
      ConsumerRecord<byte[], byte[]> d = dead.get(0);
      assertEquals("bad-1", text(d.value()));
      assertEquals("customer-7", text(d.key()));
      assertEquals("pay", header(d, "confaas-function"));
      assertEquals("3", header(d, "confaas-attempts"), "1 attempt + 2 retries");
      assertEquals("HANDLED:CardDeclined", header(d, "confaas-error-type"));
      assertEquals("card declined for bad-1", header(d, "confaas-error"));
      assertEquals(topic, header(d, "confaas-original-topic"));
      assertEquals("0", header(d, "confaas-original-partition"));
      assertEquals("1", header(d, "confaas-original-offset"));
      assertTrue(Long.parseLong(header(d, "confaas-original-timestamp")) > 0);
      assertEquals("abc", header(d, "trace"), "the original headers travel along");
      await("all 3 records are committed", () -> committedSum(added.group()) == 3);
      assertEquals(3, attempts.get("bad-1").get(), "the failing record is tried maxRetries + 1 times");
      assertEquals(1, attempts.get("good-2").get());
    }
  }

  @Test
  void poisonRecordsGoToTheDeadLetterTopicAtOnce() throws Exception {
    String topic = topic("poison");
    String dlq = topic + ".dlq";
    createTopic(bootstrap, topic, 1);
    ConcurrentLinkedQueue<String> values = new ConcurrentLinkedQueue<>();
    FunctionInvoker fn = function(r -> {
      values.add(json(r.payload()).get("value").asText());
      return ok(r, utf8("ok"));
    });
    produce(bootstrap, List.of(record(topic, 0, "a", "small"), record(topic, 0, "b", "x".repeat(500)),
        record(topic, 0, "c", "after")));
    TriggerSpec spec = new TriggerSpec(null, "p", topic, null, null, dlq, 3, 1, null, 1, 100, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      ConsumerRecord<byte[], byte[]> d = readAll(bootstrap, dlq, 1).get(0);
      assertEquals("Poison.RecordTooLarge", header(d, "confaas-error-type"));
      assertEquals("0", header(d, "confaas-attempts"), "poison is not retried");
      assertTrue(header(d, "confaas-error").contains("maxRecordBytes 100"), header(d, "confaas-error"));
      await("all 3 committed", () -> committedSum(added.group()) == 3);
      assertEquals(List.of("small", "after"), List.copyOf(values), "the function never sees poison");
    }
  }

  @Test
  void repliesCarryTheCorrelationIdAndTheInputKey() throws Exception {
    String topic = topic("requests");
    String replies = topic + ".replies";
    createTopic(bootstrap, topic, 2);
    byte[] binary = {(byte) 0xff, 0x00, (byte) 0xfe};
    produce(bootstrap, List.of(record(topic, 0, "alice", "hello"), record(topic, 1, "bob", "world"),
        new ProducerRecord<>(topic, 1, utf8("carol"), binary)));
    Map<String, JsonNode> events = new ConcurrentHashMap<>();
    FunctionInvoker fn = function(r -> {
      JsonNode e = json(r.payload());
      events.put(e.get("key").asText(), e);
      return ok(r, utf8(e.get("value").asText().toUpperCase()));
    });
    TriggerSpec spec = new TriggerSpec(null, "upper", topic, null, replies, null, 3, 1, null, 2, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      m.add(spec);
      List<ConsumerRecord<byte[], byte[]>> out = readAll(bootstrap, replies, 3);
      Map<String, ConsumerRecord<byte[], byte[]>> byKey = new HashMap<>();
      out.forEach(r -> byKey.put(text(r.key()), r));
      assertEquals("HELLO", text(byKey.get("alice").value()));
      assertEquals(topic + "/0/0", header(byKey.get("alice"), "confaas-correlation-id"));
      assertEquals(topic + "/1/0", header(byKey.get("bob"), "confaas-correlation-id"));
      assertEquals(topic + "/1/1", header(byKey.get("carol"), "confaas-correlation-id"));
      assertTrue(header(byKey.get("alice"), "confaas-request-id").length() > 0);
    }
    JsonNode carol = events.get("carol");
    assertEquals("base64", carol.get("valueEncoding").asText(), "non-UTF-8 values travel as base64: " + carol);
    assertEquals(Base64.getEncoder().encodeToString(binary), carol.get("value").asText());
    assertNull(events.get("alice").get("valueEncoding"), "UTF-8 values travel as text");
    assertEquals(topic, events.get("alice").get("topic").asText());
    assertTrue(events.get("alice").get("headers").isArray());
  }

  @Test
  void aSlowFunctionPausesTheTriggerInsteadOfBufferingWithoutBound() throws Exception {
    String topic = topic("slow");
    createTopic(bootstrap, topic, 2);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      records.add(record(topic, i % 2, "k" + i, "v" + i));
    }
    produce(bootstrap, records);
    Map<InvocationRequest, CompletableFuture<InvocationResult>> held = new HashMap<>();
    boolean[] release = {false};
    FunctionInvoker slow = r -> {
      synchronized (held) {
        if (release[0]) {
          return CompletableFuture.completedFuture(ok(r, utf8("ok")));
        }
        CompletableFuture<InvocationResult> f = new CompletableFuture<>();
        held.put(r, f);
        return f;
      }
    };
    TriggerSpec spec = new TriggerSpec(null, "slow", topic, null, null, null, 3, 1, TriggerSpec.Ordering.NONE, 4, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(slow)) {
      TriggerSpec added = m.add(spec);
      TriggerRunner runner = m.runner(added.id());
      await("both partitions are paused with the buffer full", () -> runner.pausedPartitions() == 2,
          () -> "paused " + runner.pausedPartitions() + " buffered " + runner.buffered());
      assertEquals(4, runner.inFlight(), "in flight is held at the trigger's concurrency");
      assertTrue(runner.maxInFlightSeen() <= 4, "never more than concurrency in flight: " + runner.maxInFlightSeen());
      assertTrue(runner.buffered() <= 2 * (2 * FAST.maxPollRecords()) + 2 * FAST.maxPollRecords(),
          "buffer is bounded, was " + runner.buffered());
      assertTrue(metrics.find("confaas.trigger.paused.partitions").gauge().value() >= 1);
      // Let the function catch up: everything is processed.
      synchronized (held) {
        release[0] = true;
      }
      held.forEach((r, f) -> f.complete(ok(r, utf8("ok"))));
      await("all 300 committed", () -> committedSum(added.group()) == 300,
          () -> safeCommitted(added.group()));
      assertEquals(0, runner.pausedPartitions());
    }
  }

  @Test
  void overloadRejectionsPauseAndResumeWithoutLosingRecords() throws Exception {
    String topic = topic("overload");
    createTopic(bootstrap, topic, 1);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      records.add(record(topic, 0, "k", "v" + i));
    }
    produce(bootstrap, records);
    AtomicInteger calls = new AtomicInteger();
    List<String> done = Collections.synchronizedList(new ArrayList<>());
    FunctionInvoker fn = r -> {
      if (calls.incrementAndGet() % 3 == 0) {
        return CompletableFuture.failedFuture(new dev.confaas.scheduler.InvocationRejectedException(
            dev.confaas.scheduler.InvocationRejectedException.Reason.OVERLOADED, "queue full",
            java.time.Duration.ofMillis(10)));
      }
      done.add(json(r.payload()).get("value").asText());
      return CompletableFuture.completedFuture(ok(r, utf8("ok")));
    };
    TriggerSpec spec = new TriggerSpec(null, "busy", topic, null, null, null, 0, 1, null, 1, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      await("all 20 committed", () -> committedSum(added.group()) == 20);
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      expected.add("v" + i);
    }
    assertEquals(expected, done, "overload is back-pressure, not failure: each record once, in order");
  }

  @Test
  void keyOrderingKeepsPerKeyOrderWhileRunningKeysInParallel() throws Exception {
    String topic = topic("keyed");
    createTopic(bootstrap, topic, 1);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      records.add(record(topic, 0, "key" + (i % 5), Integer.toString(i)));
    }
    produce(bootstrap, records);
    Map<String, List<Integer>> order = new ConcurrentHashMap<>();
    Set<String> inFlightKeys = ConcurrentHashMap.newKeySet();
    Set<String> overlaps = ConcurrentHashMap.newKeySet();
    AtomicInteger maxParallel = new AtomicInteger();
    AtomicInteger pendingCount = new AtomicInteger();
    List<Runnable> pending = Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.ScheduledExecutorService exec = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    FunctionInvoker fn = r -> {
      JsonNode e = json(r.payload());
      String key = e.get("key").asText();
      if (!inFlightKeys.add(key)) {
        overlaps.add(key);
      }
      order.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>())).add(e.get("value").asInt());
      maxParallel.accumulateAndGet(pendingCount.incrementAndGet(), Math::max);
      CompletableFuture<InvocationResult> f = new CompletableFuture<>();
      exec.schedule(() -> {
        inFlightKeys.remove(key);
        pendingCount.decrementAndGet();
        f.complete(ok(r, utf8("ok")));
      }, 2, java.util.concurrent.TimeUnit.MILLISECONDS);
      return f;
    };
    TriggerSpec spec = new TriggerSpec(null, "keyed", topic, null, null, null, 3, 1, TriggerSpec.Ordering.KEY, 5, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      await("all 100 committed", () -> committedSum(added.group()) == 100);
    } finally {
      exec.shutdownNow();
    }
    for (var e : order.entrySet()) {
      List<Integer> sorted = new ArrayList<>(e.getValue());
      Collections.sort(sorted);
      assertEquals(sorted, e.getValue(), "records of " + e.getKey() + " ran out of order");
      assertEquals(20, e.getValue().size(), e.getKey());
    }
    assertTrue(overlaps.isEmpty(), "records of the same key ran at once: " + overlaps);
    assertTrue(maxParallel.get() > 1, "different keys should run side by side; max in flight was " + maxParallel.get());
  }

  @Test
  void batchesDeliverConsecutiveRecordsOfOnePartitionAsOneEvent() throws Exception {
    String topic = topic("batched");
    createTopic(bootstrap, topic, 1);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      records.add(record(topic, 0, null, "r" + i));
    }
    produce(bootstrap, records);
    List<Long> offsets = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger largest = new AtomicInteger();
    FunctionInvoker fn = function(r -> {
      JsonNode batch = json(r.payload()).get("records");
      largest.accumulateAndGet(batch.size(), Math::max);
      batch.forEach(e -> offsets.add(e.get("offset").asLong()));
      return ok(r, utf8("ok"));
    });
    TriggerSpec spec = new TriggerSpec(null, "batcher", topic, null, null, null, 3, 10, null, 1, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      await("all 25 committed", () -> committedSum(added.group()) == 25);
    }
    List<Long> expected = new ArrayList<>();
    for (long i = 0; i < 25; i++) {
      expected.add(i);
    }
    assertEquals(expected, offsets, "each record once, in order");
    assertTrue(largest.get() <= 10 && largest.get() > 1, "batches hold up to batchSize records: " + largest);
  }

  /**
   * Issue 13: with event {@code value} (the default for new triggers) the function receives the
   * record's value bytes, as an HTTP body; replies carry the input record's key, and a record
   * without a key gets a reply without one, joined by its correlation ID.
   */
  @Test
  void theValueEventIsTheRecordValueAndRepliesCarryTheInputKey() throws Exception {
    String topic = topic("rev-in");
    String replies = topic + ".out";
    createTopic(bootstrap, topic, 1);
    ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
    FunctionInvoker reverse = function(r -> {
      String e = text(r.payload());
      events.add(e);
      return ok(r, utf8(new StringBuilder(e).reverse().toString()));
    });
    produce(bootstrap, List.of(record(topic, 0, "k1", "stressed"), record(topic, 0, null, "drawer")));
    TriggerSpec spec = TriggerJson.spec(TriggerJson.MAPPER.createObjectNode().put("function", "rev")
        .put("topic", topic).put("replyTopic", replies), TriggerSpec.Event.VALUE);
    assertEquals(TriggerSpec.Event.VALUE, spec.event(), "a new trigger gets the value by default");
    try (TriggerManager m = manager(reverse)) {
      m.add(spec);
      List<ConsumerRecord<byte[], byte[]>> out = readAll(bootstrap, replies, 2);
      assertEquals(List.of("stressed", "drawer"), List.copyOf(events), "the function sees the values unchanged");
      assertEquals("desserts", text(out.get(0).value()));
      assertEquals("k1", text(out.get(0).key()), "the reply is keyed like its input");
      assertEquals(topic + "/0/0", header(out.get(0), "confaas-correlation-id"));
      assertEquals("reward", text(out.get(1).value()));
      assertNull(out.get(1).key(), "an input without a key gets a reply without one");
      assertEquals(topic + "/0/1", header(out.get(1), "confaas-correlation-id"));
    }
  }

  /**
   * Issue 11, defect 4: a 2 MiB record (over maxRecordBytes) with a dead-letter topic used to block
   * its partition forever: the dead-letter produce failed (RecordTooLarge) and nothing retried.
   */
  @Test
  void aTwoMegabyteRecordIsDeadLetteredAndLaterRecordsFlow() throws Exception {
    String topic = topic("big");
    String dlq = topic + ".dlq";
    createTopic(bootstrap, topic, 1);
    ConcurrentLinkedQueue<String> values = new ConcurrentLinkedQueue<>();
    FunctionInvoker fn = function(r -> {
      values.add(json(r.payload()).get("value").asText());
      return ok(r, utf8("ok"));
    });
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    records.add(new ProducerRecord<>(topic, 0, utf8("huge"), new byte[2 * 1024 * 1024]));
    for (int i = 0; i < 8; i++) {
      records.add(record(topic, 0, "k" + i, "after-" + i));
    }
    KafkaTestSupport.produceLarge(bootstrap, records);
    TriggerSpec spec = new TriggerSpec(null, "big", topic, null, null, dlq, 3, 1, null, 1, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      ConsumerRecord<byte[], byte[]> d = readAll(bootstrap, dlq, 1).get(0);
      assertEquals("Poison.RecordTooLarge", header(d, "confaas-error-type"));
      assertEquals("0", header(d, "confaas-original-offset"));
      await("all 9 committed", () -> committedSum(added.group()) == 9, () -> safeCommitted(added.group()));
      assertEquals(8, values.size(), "the 8 later records reach the function: " + values);
    }
  }

  /**
   * Issue 11, defect 4: a record the dead-letter topic cannot take whole (its max.message.bytes is
   * smaller) is dead-lettered as a small descriptor, and the partition moves on.
   */
  @Test
  void aRecordTheDeadLetterTopicCannotTakeIsDeadLetteredAsADescriptor() throws Exception {
    String topic = topic("bulky");
    String dlq = topic + ".dlq";
    createTopic(bootstrap, topic, 1);
    try (var a = KafkaTestSupport.admin(bootstrap)) {
      a.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(dlq, 1, (short) 1)
          .configs(Map.of("max.message.bytes", "65536")))).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
    ConcurrentLinkedQueue<String> values = new ConcurrentLinkedQueue<>();
    FunctionInvoker fn = function(r -> {
      String v = json(r.payload()).get("value").asText();
      values.add(v.length() > 20 ? "long" : v);
      return v.length() > 20 ? error(r, "TooBig", "cannot handle it") : ok(r, utf8("ok"));
    });
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    records.add(record(topic, 0, "bulky-key", "x".repeat(200_000)));
    for (int i = 0; i < 3; i++) {
      records.add(record(topic, 0, "k" + i, "after-" + i));
    }
    KafkaTestSupport.produceLarge(bootstrap, records);
    TriggerSpec spec = new TriggerSpec(null, "bulky", topic, null, null, dlq, 1, 1, null, 1, 0, TriggerSpec.Event.ENVELOPE);
    try (TriggerManager m = manager(fn)) {
      TriggerSpec added = m.add(spec);
      await("all 4 committed", () -> committedSum(added.group()) == 4, () -> safeCommitted(added.group()));
      ConsumerRecord<byte[], byte[]> d = readAll(bootstrap, dlq, 1).get(0);
      JsonNode descriptor = json(d.value());
      assertEquals(topic, descriptor.get("topic").asText(), descriptor.toString());
      assertEquals(0, descriptor.get("partition").asInt());
      assertEquals(0, descriptor.get("offset").asLong());
      assertEquals(200_000 + "bulky-key".length(), descriptor.get("size").asInt());
      assertTrue(descriptor.get("reason").asText().contains("cannot handle it"), descriptor.toString());
      assertEquals("bulky-key", text(d.key()));
      assertEquals("HANDLED:TooBig", header(d, "confaas-error-type"));
      assertEquals(List.of("long", "long", "after-0", "after-1", "after-2"), List.copyOf(values));
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : text(h.value());
  }
}
