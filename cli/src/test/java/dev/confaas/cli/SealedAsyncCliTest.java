package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import dev.confaas.gateway.kafka.KafkaAsyncInvocations;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's sealed async invocations against the whole platform (its embedded Kafka broker, real
 * agent processes, simulated TDX): {@code confaas invoke --sealed --async} queues the sealed
 * request, waits, opens the result and verifies the receipt; neither internal topic holds the
 * event's or the response's plaintext (a plain async control's plaintext is found there, so the
 * scan would see it); and a sealed invocation whose TD was killed before it ran ends with reason
 * {@code TD_GONE}, run nowhere else.
 */
class SealedAsyncCliTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Platform platform;
  static String url;
  static String token;
  static Path collateral;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void up() throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "1", "pool.max", "3",
        "pool.bootsInFlight", "1", "pool.healthInterval", "2s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
    url = platform.gatewayUrl().toString();
    token = platform.adminToken();
    collateral = data.resolve("attestation/collateral");
    // The response differs from the event: its marker is the event's, upper-cased.
    Path handler = Files.writeString(work.resolve("shout.sh"),
        "#!/bin/sh\nprintf '%s!' \"$(cat | tr a-z A-Z)\"\n");
    CliRun deploy = CliRun.of("deploy", "--name", "shout", "--runtime", "shell",
        "--handler", handler.toString(), "--url", url, "--token", token,
        "--data-dir", work.resolve("author").toString());
    assertEquals(0, deploy.code, deploy.toString());
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  static HttpResponse<byte[]> send(HttpRequest r) throws Exception {
    return HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + token);
  }

  static JsonObject json(HttpResponse<byte[]> r) {
    return new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
  }

  /** Polls {@code GET /v1/invocations/ID} until it ends. */
  static JsonObject finalStatus(String id) throws Exception {
    JsonObject[] last = new JsonObject[1];
    await("invocation " + id + " to end", () -> {
      try {
        last[0] = json(send(request("/v1/invocations/" + id).GET().build()));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return List.of("SUCCEEDED", "FAILED", "REJECTED").contains(last[0].getString("state"));
    });
    return last[0];
  }

  static void await(String what, BooleanSupplier done) throws InterruptedException {
    for (int i = 0; i < 600; i++) {
      if (done.getAsBoolean()) {
        return;
      }
      Thread.sleep(200);
    }
    fail("timed out waiting for " + what);
  }

  @Test
  void theCliSealsQueuesOpensAndVerifiesAndKafkaHoldsOnlyCiphertext() throws Exception {
    String marker = "sealed-" + UUID.randomUUID().toString().substring(0, 8);
    String responseMarker = marker.toUpperCase();
    CliRun sealed = CliRun.of("invoke", "shout", "--sealed", "--async", "--data", marker, "--url", url,
        "--token", token, "--collateral", collateral.toString(), "--trust-dev-root");
    assertEquals(0, sealed.code, sealed.toString());
    assertEquals(responseMarker + "!", sealed.out, sealed.toString());
    assertTrue(sealed.err.contains("queued as invocation "), sealed.toString());
    assertTrue(sealed.err.contains("sealed invocation VERIFIED"), sealed.toString());
    assertTrue(sealed.err.lines().anyMatch(l -> l.startsWith("PASS") && l.contains("PLAINTEXTS")),
        sealed.toString());

    // The control: a plain async invocation's event and response are in the topics as they are.
    String plain = "plain-" + UUID.randomUUID().toString().substring(0, 8);
    HttpResponse<byte[]> accepted = send(request("/v1/functions/shout/invoke-async")
        .POST(HttpRequest.BodyPublishers.ofString(plain)).build());
    assertEquals(202, accepted.statusCode(), new String(accepted.body(), StandardCharsets.UTF_8));
    assertEquals("SUCCEEDED", finalStatus(json(accepted).getString("invocationId")).getString("state"));

    byte[] topics = rawTopics();
    assertTrue(contains(topics, plain), "the scan should find the plain event: it reads the topics' bytes");
    assertTrue(contains(topics, plain.toUpperCase() + "!"), "the scan should find the plain response");
    assertFalse(contains(topics, marker), "the sealed event's plaintext is in a Kafka topic");
    assertFalse(contains(topics, responseMarker), "the sealed response's plaintext is in a Kafka topic");
  }

  @Test
  void aSealedAsyncInvocationWhoseTdWasKilledBeforeItRanEndsTdGoneAndRunsNowhereElse() throws Exception {
    HttpResponse<byte[]> e = send(request("/v1/functions/shout/evidence?prepare=true").GET().build());
    assertEquals(200, e.statusCode(), new String(e.body(), StandardCharsets.UTF_8));
    JsonObject doc = json(e);
    TdEvidence ev = TdEvidence.parse(
        doc.getJsonArray("evidence").getJsonObject(0).encode().getBytes(StandardCharsets.UTF_8));
    byte[] request = SealedMessages.seal(ev.sealingPublicKey(), doc.getString("imageId"), ev.tdId(),
        "for a TD about to die".getBytes(StandardCharsets.UTF_8)).encapsulated();

    agentOf(ev.tdId()).destroyForcibly();
    await("the pool to take TD " + ev.tdId() + " out of service", () -> tdsInService().stream()
        .noneMatch(ev.tdId()::equals));

    HttpResponse<byte[]> accepted = send(request("/v1/functions/shout/invoke-async")
        .header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", ev.tdId())
        .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build());
    assertEquals(202, accepted.statusCode(), new String(accepted.body(), StandardCharsets.UTF_8));
    JsonObject status = finalStatus(json(accepted).getString("invocationId"));
    assertEquals("REJECTED", status.getString("state"), status.encode());
    assertEquals("TD_GONE", status.getJsonObject("error").getString("reason"), status.encode());
    assertTrue(status.getJsonObject("error").getString("message").contains(ev.tdId()), status.encode());
    assertTrue(status.getBoolean("sealed"), status.encode());
    assertNull(status.getString("tdId"), "it ran in no other TD: " + status.encode());
    assertNull(status.getString("result"), status.encode());
  }

  /** The TDs the pool lists in a state other than STOPPED. */
  static List<String> tdsInService() {
    try {
      HttpResponse<byte[]> r = send(request("/v1/tds").GET().build());
      Object parsed = io.vertx.core.json.Json.decodeValue(new String(r.body(), StandardCharsets.UTF_8));
      JsonArray a = parsed instanceof JsonArray arr ? arr : ((JsonObject) parsed).getJsonArray("tds");
      List<String> out = new ArrayList<>();
      for (Object o : a) {
        JsonObject td = (JsonObject) o;
        if (!td.getString("state").equals("STOPPED")) {
          out.add(td.getString("id"));
        }
      }
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The agent process of one TD: a child of this JVM started with that TD's directory. */
  static ProcessHandle agentOf(String tdId) {
    return ProcessHandle.current().children()
        .filter(p -> {
          String c = commandLine(p);
          return c.contains("TdAgentMain") && c.contains("/" + tdId + "/");
        })
        .findFirst()
        .orElseThrow(() -> new AssertionError("no agent process for TD " + tdId));
  }

  static String commandLine(ProcessHandle p) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /** Every key, value and header value of both internal async topics, from the start, concatenated. */
  static byte[] rawTopics() {
    Map<String, Object> c = new HashMap<>(platform.kafkaPlatformClients().settings());
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    try (KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (String topic : List.of(KafkaAsyncInvocations.INVOCATIONS_TOPIC, KafkaAsyncInvocations.RESULTS_TOPIC)) {
        con.partitionsFor(topic, Duration.ofSeconds(30))
            .forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
      }
      con.assign(tps);
      con.seekToBeginning(tps);
      Map<TopicPartition, Long> end = con.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      int records = 0;
      while (tps.stream().anyMatch(tp -> con.position(tp) < end.get(tp))) {
        assertTrue(System.nanoTime() < deadline, "reading the async topics took over 60 s");
        for (ConsumerRecord<byte[], byte[]> r : con.poll(Duration.ofMillis(200))) {
          records++;
          all.writeBytes(r.key() == null ? new byte[0] : r.key());
          all.writeBytes(r.value() == null ? new byte[0] : r.value());
          for (Header h : r.headers()) {
            all.writeBytes(h.value() == null ? new byte[0] : h.value());
          }
        }
      }
      assertTrue(records >= 4, "both invocations and their statuses should be in the topics: " + records);
    }
    return all.toByteArray();
  }

  static boolean contains(byte[] haystack, String needle) {
    byte[] n = needle.getBytes(StandardCharsets.UTF_8);
    outer:
    for (int i = 0; i + n.length <= haystack.length; i++) {
      for (int j = 0; j < n.length; j++) {
        if (haystack[i + j] != n[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
