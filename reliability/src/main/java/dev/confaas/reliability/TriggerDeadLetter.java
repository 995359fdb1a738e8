package dev.confaas.reliability;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Scenario 4: a 2 MB record on a trigger's topic (issue 11, defect 4: a 1-8 MiB record blocked its
 * partition forever, even with a dead-letter topic, because the dead-letter produce failed too).
 * A trigger with a reply topic and a dead-letter topic; on partition 0: one small record, the 2 MB
 * one (over the trigger's default {@code maxRecordBytes}, 1 MiB: poison), then 8 small records. The
 * 2 MB record must reach the dead-letter topic (whole or as a descriptor naming its offset) and all
 * 9 small records must get their replies. Kafka is reached as a client is told to: with {@code
 * DATA/kafka/client.properties}.
 */
final class TriggerDeadLetter {
  static final int BIG_BYTES = 2_000_000;
  static final int SMALL_AFTER = 8;
  static final String IN = "rel-in";
  static final String OUT = "rel-out";
  static final String DLQ = "rel-dlq";

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess up = h.up;
    h.deployShell("rel-count", "#!/bin/sh\nwc -c | tr -d ' \\n'\n");
    ObjectNode spec = GatewayCalls.JSON.createObjectNode()
        .put("function", "rel-count").put("topic", IN).put("replyTopic", OUT)
        .put("deadLetterTopic", DLQ).put("maxRetries", 1);
    GatewayCalls.Answer created =
        h.http.postJson(up.url, "/v1/triggers", up.token, spec.toString());
    r.figure("triggerCreated", created.kind());
    if (!r.check(created.status() == 201,
        "POST /v1/triggers: " + created.kind() + " " + created.text())) {
      return;
    }
    String triggerId = created.json().path("id").asText();

    Properties client =
        clientProperties(up.dataDir.resolve("kafka/client.properties"), up.kafkaBootstrap);
    Map<Long, String> smallByOffset = new TreeMap<>();
    long bigOffset;
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = producer(client)) {
      smallByOffset.put(send(producer, "before", utf8("small record before")), "before");
      byte[] big = new byte[BIG_BYTES];
      java.util.Arrays.fill(big, (byte) 'z');
      try {
        bigOffset = send(producer, "big", big);
      } catch (Exception e) {
        r.figure("bigProduced", "refused: " + e.getMessage());
        r.check(false, "the 2 MB record could not be produced to " + IN + ": " + e.getMessage());
        return;
      }
      for (int i = 0; i < SMALL_AFTER; i++) {
        smallByOffset.put(send(producer, "after-" + i, utf8("small record " + i)), "after-" + i);
      }
    }
    r.figure("bigRecordOffset", bigOffset);
    r.figure("smallRecordOffsets", smallByOffset.keySet());

    // Replies (correlation id rel-in/0/OFFSET) and dead letters, for up to 90 s.
    Map<Long, String> replies = new TreeMap<>();
    List<Map<String, Object>> deadLetters = new ArrayList<>();
    double lastReplySeconds = -1;
    double deadLetterSeconds = -1;
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(client)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String topic : List.of(OUT, DLQ)) {
        consumer.partitionsFor(topic, Duration.ofSeconds(30))
            .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (System.nanoTime() < deadline
          && (replies.size() < smallByOffset.size() || deadLetters.isEmpty())) {
        for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
          Map<String, String> headers = headers(rec);
          if (rec.topic().equals(OUT)) {
            String corr = headers.getOrDefault("confaas-correlation-id", "");
            String prefix = IN + "/0/";
            if (corr.startsWith(prefix)) {
              replies.put(Long.parseLong(corr.substring(prefix.length())),
                  rec.value() == null ? "" : new String(rec.value(), StandardCharsets.UTF_8));
              lastReplySeconds = Harness.secondsSince(t0);
            }
          } else {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("valueBytes", rec.value() == null ? 0 : rec.value().length);
            d.put("headers", headers);
            deadLetters.add(d);
            deadLetterSeconds = Harness.secondsSince(t0);
          }
        }
      }
    }
    GatewayCalls.Answer status = h.http.get(up.url, "/v1/triggers/" + triggerId, up.token);
    TreeSet<Long> missing = new TreeSet<>(smallByOffset.keySet());
    missing.removeAll(replies.keySet());
    boolean bigDeadLettered = deadLetters.stream().anyMatch(d -> Long.toString(bigOffset).equals(
        ((Map<?, ?>) d.get("headers")).get("confaas-original-offset")));
    r.figure("repliesReceived", replies.size() + " of " + smallByOffset.size());
    r.figure("repliesMissingForOffsets", missing);
    r.figure("secondsToLastReply", lastReplySeconds);
    r.figure("deadLetters", deadLetters);
    r.figure("secondsToDeadLetter", deadLetterSeconds);
    r.figure("triggerStatus", status.status() == 200 ? status.json() : status.kind());
    r.check(bigDeadLettered, "no dead letter names the 2 MB record's offset " + bigOffset
        + " (dead letters: " + deadLetters.size() + ")");
    r.check(missing.isEmpty(), "no reply for the small records at offsets " + missing);
    String partition0 = "";
    if (status.status() == 200) {
      var st = status.json();
      partition0 = "; trigger: running " + st.path("running").asText() + ", paused partitions "
          + st.path("pausedPartitions").asText() + ", lag on partition 0: "
          + st.path("lag").path("0").asText("?");
    }
    r.summary = "2 MB record " + (bigDeadLettered ? "dead-lettered" : "NOT dead-lettered")
        + (deadLetterSeconds >= 0 ? " after " + deadLetterSeconds + " s" : "") + "; replies "
        + replies.size() + "/" + smallByOffset.size()
        + (lastReplySeconds >= 0 ? ", last after " + lastReplySeconds + " s" : "") + partition0;
  }

  private static long send(KafkaProducer<byte[], byte[]> producer, String key, byte[] value)
      throws Exception {
    RecordMetadata m = producer.send(new ProducerRecord<>(IN, 0,
        key.getBytes(StandardCharsets.UTF_8), value)).get();
    return m.offset();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Properties clientProperties(Path file, String bootstrap) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    p.putIfAbsent("bootstrap.servers", bootstrap);
    return p;
  }

  private static KafkaProducer<byte[], byte[]> producer(Properties client) {
    Properties p = new Properties();
    p.putAll(client);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static KafkaConsumer<byte[], byte[]> consumer(Properties client) {
    Properties p = new Properties();
    p.putAll(client);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 32 * 1024 * 1024);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static Map<String, String> headers(ConsumerRecord<byte[], byte[]> rec) {
    Map<String, String> out = new HashMap<>();
    for (Header hd : rec.headers()) {
      out.put(hd.key(), hd.value() == null ? null : new String(hd.value(), StandardCharsets.UTF_8));
    }
    return new TreeMap<>(out);
  }
}
