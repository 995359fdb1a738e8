package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.confaas.gateway.kafka.KafkaClients;
import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6's "done when" on the whole platform and its embedded real broker, and issue 5's restart:
 * a trigger with a reply topic answers every record, keyed like the input, with a correlation
 * header; a failing function's records reach the dead-letter topic after the retries with the
 * headers that say why; and a platform stopped and started again on its data directory still has
 * its functions, its triggers and its admin token, and finishes an async invocation it accepted
 * before the restart; its embedded broker listens on the same port again. One test: a restart is
 * the heaviest step, done once.
 */
class PlatformKafkaAndRestartTest {
  @TempDir Path data;
  @TempDir Path work;

  @Test
  void triggersRepliesDeadLettersAndAsyncInvocationsSurviveARestart() throws Exception {
    String token;
    String kafka;
    String asyncId;
    String upperImage;
    SigningKeys dave = SigningKeys.generate("dave", Clock.systemUTC());
    try (PlatformFixture p = PlatformFixture.start(data)) {
      token = p.token;
      kafka = p.platform.kafkaBootstrap();
      p.deployShell(work, "upper", dave, "tr 'a-z' 'A-Z'", m -> {}, null);
      p.deployShell(work, "broken", dave, "cat >/dev/null\necho 'no such table' >&2\nexit 3",
          m -> {}, null);
      p.deployShell(work, "patient", dave, "event=$(cat)\nsleep 3\necho \"done:$event\"",
          m -> {}, new JsonObject().put("name", "patient").put("timeoutMs", 60_000).encode());
      upperImage = PlatformFixture.imageOf(p.invokeOk("upper", "warm"));
      HttpResponse<String> broken = p.invoke("broken", "x");
      JsonObject failure = new JsonObject(broken.body()).getJsonObject("functionError");
      assertEquals(502, broken.statusCode(), broken.body());
      assertEquals(3, failure.getInteger("exitStatus"), "the handler's exit status: " + broken.body());
      assertTrue(failure.getString("errorMessage").contains("no such table"), broken.body());

      addTrigger(p, new JsonObject()
          .put("function", "upper").put("topic", "words").put("replyTopic", "words-upper"));
      addTrigger(p, new JsonObject()
          .put("function", "broken").put("topic", "orders").put("deadLetterTopic", "orders-dlq")
          .put("maxRetries", 2));

      // Replies: every record answered, keyed like its input, with a correlation header.
      Map<String, String> sent = produceWords(trigger(p.platform), "words", 12, "a");
      Map<String, ConsumerRecord<byte[], byte[]>> replies =
          readKeyed(trigger(p.platform), "words-upper", sent.keySet(), Duration.ofSeconds(90));
      for (Map.Entry<String, String> e : sent.entrySet()) {
        ConsumerRecord<byte[], byte[]> reply = replies.get(e.getKey());
        // The event is the record's value (a new trigger's default); upper cased by the function.
        String answer = utf8(reply.value());
        assertEquals(e.getValue().toUpperCase(Locale.ROOT), answer.strip(),
            "reply to key " + e.getKey() + " does not carry its record's value: " + answer);
        String correlation = header(reply, "confaas-correlation-id");
        assertTrue(correlation.startsWith("words/"),
            "the correlation header should name the input record: " + correlation);
        assertEquals(3, header(reply, "confaas-receipt").split("\\.", -1).length,
            "the reply should carry the TD's receipt (a compact JWS) as header confaas-receipt");
      }

      // Dead letters: after the retries, with what failed, how often and where it came from.
      Map<String, String> orders = produceWords(trigger(p.platform), "orders", 2, "o");
      Map<String, ConsumerRecord<byte[], byte[]>> dead =
          readKeyed(trigger(p.platform), "orders-dlq", orders.keySet(), Duration.ofSeconds(90));
      for (Map.Entry<String, String> e : orders.entrySet()) {
        ConsumerRecord<byte[], byte[]> d = dead.get(e.getKey());
        assertEquals(e.getValue(), utf8(d.value()), "the dead letter must carry the original value");
        assertEquals("broken", header(d, "confaas-function"));
        assertEquals("3", header(d, "confaas-attempts"), "1 attempt + maxRetries 2");
        assertEquals("orders", header(d, "confaas-original-topic"));
        assertNotNull(header(d, "confaas-original-offset"));
        assertTrue(!header(d, "confaas-error").isEmpty(), "confaas-error is empty");
      }

      // An async invocation accepted just before the platform stops.
      HttpResponse<String> accepted = p.post("/v1/functions/patient/invoke-async", "before");
      assertEquals(202, accepted.statusCode(), accepted.body());
      String location = accepted.headers().firstValue("Location").orElseThrow(
          () -> new AssertionError("202 without Location: " + accepted.headers().map()));
      asyncId = location.substring(location.lastIndexOf('/') + 1);
    }

    try (PlatformFixture p = PlatformFixture.start(data)) {
      assertEquals(token, p.token, "the admin token changed across a restart");
      assertEquals(kafka, p.platform.kafkaBootstrap(),
          "kafka.port 0 must keep the broker's port across restarts of one data directory");
      HttpResponse<String> again = p.invokeOk("upper", "still here");
      assertEquals("STILL HERE", again.body().strip());
      assertEquals(upperImage, PlatformFixture.imageOf(again), "the function's image changed");
      p.invokeOk("hello", "again"); // the sample too

      HttpResponse<String> triggers = p.get("/v1/triggers");
      assertEquals(200, triggers.statusCode(), triggers.body());
      Set<String> functions = new TreeSet<>();
      new JsonObject(triggers.body()).getJsonArray("triggers")
          .forEach(t -> functions.add(((JsonObject) t).getString("function")));
      assertEquals(Set.of("broken", "upper"), functions, triggers.body());

      // The trigger runs again: new records on its topic are answered.
      Map<String, String> after = produceWords(trigger(p.platform), "words", 3, "b");
      Map<String, ConsumerRecord<byte[], byte[]>> replies =
          readKeyed(trigger(p.platform), "words-upper", after.keySet(), Duration.ofSeconds(90));
      after.forEach((k, v) -> assertTrue(
          utf8(replies.get(k).value()).contains(v.toUpperCase(Locale.ROOT)), "reply to " + k));

      // The async invocation accepted before the restart has completed after it.
      JsonObject[] status = new JsonObject[1];
      p.await("async invocation " + asyncId + " to finish", Duration.ofSeconds(90), () -> {
        HttpResponse<String> r = p.get("/v1/invocations/" + asyncId);
        if (r.statusCode() != 200) {
          return false;
        }
        status[0] = new JsonObject(r.body());
        return Set.of("SUCCEEDED", "FAILED").contains(status[0].getString("state"));
      });
      assertEquals("SUCCEEDED", status[0].getString("state"), status[0].encodePrettily());
      assertEquals("done:before", status[0].getString("result").strip());
    }
  }

  private static void addTrigger(PlatformFixture p, JsonObject trigger) {
    HttpResponse<String> r = p.post("/v1/triggers", trigger.encode());
    assertEquals(201, r.statusCode(), () -> "adding trigger " + trigger + ": " + r.body());
  }

  /** A trigger client as an operator sets one up: from the client.properties {@code up} wrote. */
  private static KafkaClients trigger(Platform platform) throws java.io.IOException {
    return KafkaClients.load(platform.kafkaBootstrap(), platform.kafkaClientFiles().get(0));
  }

  /** Produces {@code n} records with distinct keys; returns key to value. */
  private static Map<String, String> produceWords(KafkaClients client, String topic, int n, String tag)
      throws Exception {
    Map<String, Object> c = client.settings();
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    Map<String, String> sent = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(c)) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String key = tag + "-key-" + i;
        String value = "record " + tag + i + " of " + UUID.randomUUID();
        sent.put(key, value);
        acks.add(producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
            value.getBytes(StandardCharsets.UTF_8))));
      }
      for (var a : acks) {
        a.get(30, TimeUnit.SECONDS);
      }
    }
    return sent;
  }

  /** Reads {@code topic} from the start until a record for each of {@code keys} arrived. */
  private static Map<String, ConsumerRecord<byte[], byte[]>> readKeyed(
      KafkaClients client, String topic, Set<String> keys, Duration limit) {
    Map<String, Object> c = client.settings();
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "test-reader-" + UUID.randomUUID());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    Map<String, ConsumerRecord<byte[], byte[]>> got = new HashMap<>();
    long end = System.nanoTime() + limit.toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
      consumer.subscribe(List.of(topic));
      while (!got.keySet().containsAll(keys)) {
        if (System.nanoTime() > end) {
          Set<String> missing = new TreeSet<>(keys);
          missing.removeAll(got.keySet());
          fail("after " + limit + ", " + topic + " has nothing keyed " + missing);
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.key() != null) {
            got.putIfAbsent(utf8(r.key()), r);
          }
        }
      }
    }
    return got;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    assertNotNull(h, () -> "record at " + r.topic() + "/" + r.partition() + "/" + r.offset()
        + " has no header " + name);
    return utf8(h.value());
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
