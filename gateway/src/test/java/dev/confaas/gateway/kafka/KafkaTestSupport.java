package dev.confaas.gateway.kafka;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Helpers for tests against a real embedded broker: topics, producing, reading, waiting. */
final class KafkaTestSupport {
  /** Call before anything logs: Kafka's INFO logging would drown the test output. */
  static void quietLogs() {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
  }

  private KafkaTestSupport() {}

  static final TriggerRunner.Options FAST =
      new TriggerRunner.Options(
          Duration.ofMillis(1), Duration.ofMillis(20), Duration.ofMillis(50), Duration.ofSeconds(30), 20,
          Duration.ofMillis(50), Duration.ofMillis(500), 64L * 1024 * 1024, () -> {});

  static Admin admin(KafkaClients clients) {
    return Admin.create(clients.settings());
  }

  static void createTopic(KafkaClients bootstrap, String topic, int partitions) throws Exception {
    try (Admin a = admin(bootstrap)) {
      a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
  }

  static KafkaProducer<byte[], byte[]> producer(KafkaClients bootstrap) {
    Map<String, Object> c = bootstrap.settings();
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(c);
  }

  /** Produces records of up to 8 MiB and waits for every ack. */
  static void produceLarge(KafkaClients bootstrap, List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    Map<String, Object> c = bootstrap.settings();
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 * 1024 * 1024);
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(c)) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        p.send(r).get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** Produces records to explicit partitions and waits for every ack. */
  static void produce(KafkaClients bootstrap, List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (ProducerRecord<byte[], byte[]> r : records) {
        acks.add(p.send(r));
      }
      for (var a : acks) {
        a.get(30, TimeUnit.SECONDS);
      }
    }
  }

  static ProducerRecord<byte[], byte[]> record(String topic, int partition, String key, String value) {
    return new ProducerRecord<>(
        topic, partition, key == null ? null : utf8(key), value == null ? null : utf8(value));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  /** Reads {@code topic} from the beginning until {@code count} records arrived (or fails). */
  static List<ConsumerRecord<byte[], byte[]>> readAll(KafkaClients bootstrap, String topic, int count) {
    Map<String, Object> c = bootstrap.settings();
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "test-reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(c)) {
      con.subscribe(List.of(topic));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (out.size() < count) {
        if (System.nanoTime() > deadline) {
          fail("expected " + count + " records on " + topic + ", got " + out.size());
        }
        con.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  /** The group's committed offset per partition of {@code topic}. */
  static Map<Integer, Long> committed(Admin a, String group) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> m =
        a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    Map<Integer, Long> out = new HashMap<>();
    m.forEach((tp, o) -> out.put(tp.partition(), o.offset()));
    return out;
  }

  /** The sum of the group's committed offsets, or -1 when they cannot be read now. */
  static long committedSum(Admin a, String group) {
    try {
      return committed(a, group).values().stream().mapToLong(Long::longValue).sum();
    } catch (Exception e) {
      return -1;
    }
  }

  /** Waits (generously) until {@code condition} holds; fails with {@code what} otherwise. */
  static void await(String what, BooleanSupplier condition) {
    await(what, condition, () -> "");
  }

  static void await(String what, BooleanSupplier condition, Supplier<String> state) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting until " + what + " " + state.get());
      }
      try {
        Thread.sleep(50); // polling for a condition, not waiting for time to pass
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted");
      }
    }
  }

  static JsonNode json(byte[] b) {
    try {
      return TriggerJson.MAPPER.readTree(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static InvocationResult ok(InvocationRequest r, byte[] payload) {
    return new InvocationResult(r.requestId(), payload, null, "td-test", "sha384/test", "i-1", Duration.ZERO);
  }

  static InvocationResult error(InvocationRequest r, String type, String message) {
    return new InvocationResult(
        r.requestId(), null, new FunctionError(FunctionError.Kind.HANDLED, type, message, -1),
        "td-test", "sha384/test", "i-1", Duration.ZERO);
  }

  /** A function that answers at once with what {@code body} computes from the event. */
  static FunctionInvoker function(Function<InvocationRequest, InvocationResult> body) {
    return r -> CompletableFuture.completedFuture(body.apply(r));
  }
}
