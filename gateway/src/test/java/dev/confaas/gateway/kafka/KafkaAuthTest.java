package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.record;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.InvocationResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, defect 9: whoever reaches the broker's port must not run a function without its invoke
 * token (by producing to {@code confaas.async-invocations}) nor read async results. Real embedded
 * broker, real clients.
 */
class KafkaAuthTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static KafkaAsyncInvocations async;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0);
    async = KafkaAsyncInvocations.start(kafka.platformClients(),
        r -> CompletableFuture.completedFuture(new InvocationResult(r.requestId(),
            ("ran " + new String(r.payload(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8),
            null, "td", "img", "i", Duration.ZERO)),
        Clock.systemUTC(), Duration.ofHours(1), 1, 2);
    KafkaTestSupport.createTopic(kafka.platformClients(), "orders", 1);
  }

  @AfterAll
  static void stop() {
    if (async != null) {
      async.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void credentialsAndClientSettingsAreWrittenPrivately() throws Exception {
    Path data = dir.resolve("kafka");
    for (String f : List.of("credentials", "client.properties", "librdkafka.conf")) {
      assertEquals("rw-------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(f))), f);
    }
    assertEquals(data.resolve("client.properties"), kafka.clientProperties());
    String conf = Files.readString(kafka.librdkafkaConf());
    assertTrue(conf.contains("bootstrap.servers=" + kafka.bootstrapServers()), conf);
    assertTrue(conf.contains("sasl.username=confaas-client"), conf);
    assertTrue(conf.contains("security.protocol=sasl_plaintext"), conf);
    // client.properties is what a Java client loads; the platform's password is not in it.
    KafkaClients fromFile = KafkaClients.load(kafka.bootstrapServers(), kafka.clientProperties());
    assertTrue(String.valueOf(fromFile.settings().get("sasl.jaas.config")).contains("confaas-client"));
    assertTrue(!Files.readString(kafka.clientProperties()).contains("confaas-platform"));
  }

  @Test
  void aClientWithoutCredentialsCannotQueueAnInvocation() {
    Map<String, Object> c = producerConfig(KafkaClients.plaintext(kafka.bootstrapServers()));
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000);
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(c)) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> p.send(
          new ProducerRecord<>(KafkaAsyncInvocations.INVOCATIONS_TOPIC, utf8("x"), utf8(
              "{\"id\":\"evil\",\"function\":\"secret\",\"payload\":\"\"}"))).get(10, TimeUnit.SECONDS));
      // The SASL listener drops a client that does not authenticate: it never even sees metadata.
      assertInstanceOf(org.apache.kafka.common.errors.TimeoutException.class, e.getCause(),
          e.toString());
    }
  }

  @Test
  void aWrongPasswordIsAnAuthenticationError() {
    KafkaClients wrong = KafkaClients.of(kafka.bootstrapServers(), Map.of(
        "security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
        "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"confaas-platform\" password=\"guess\";"));
    Map<String, Object> c = producerConfig(wrong);
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(c)) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> p.send(
          new ProducerRecord<>("orders", utf8("x"))).get(20, TimeUnit.SECONDS));
      assertInstanceOf(SaslAuthenticationException.class, e.getCause(), e.toString());
    }
  }

  @Test
  void theClientUserCannotQueueInvocationsNorReadResults() {
    KafkaClients client = kafka.clientClients();
    Map<String, Object> c = producerConfig(client);
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(c)) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> p.send(
          new ProducerRecord<>(KafkaAsyncInvocations.INVOCATIONS_TOPIC, utf8("x"), utf8(
              "{\"id\":\"evil\",\"function\":\"secret\",\"payload\":\"\"}"))).get(20, TimeUnit.SECONDS));
      assertInstanceOf(TopicAuthorizationException.class, e.getCause(), e.toString());
    }

    Map<String, Object> rc = consumerConfig(client, "reader-" + System.nanoTime());
    try (KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(rc)) {
      con.subscribe(List.of(KafkaAsyncInvocations.RESULTS_TOPIC));
      assertThrows(TopicAuthorizationException.class, () -> {
        for (int i = 0; i < 50; i++) {
          con.poll(Duration.ofMillis(200));
        }
      });
    }

    // Nor join the async worker's group (or a trigger's default one) to steal its records.
    Map<String, Object> gc = consumerConfig(client, KafkaAsyncInvocations.GROUP);
    try (KafkaConsumer<byte[], byte[]> con = new KafkaConsumer<>(gc)) {
      con.subscribe(List.of("orders"));
      assertThrows(GroupAuthorizationException.class, () -> {
        for (int i = 0; i < 50; i++) {
          con.poll(Duration.ofMillis(200));
        }
      });
    }
  }

  @Test
  void aTriggerCannotUseTheInternalTopics() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TriggerSpec.of("fn", KafkaAsyncInvocations.INVOCATIONS_TOPIC));
    assertTrue(e.getMessage().contains("reserved"), e.getMessage());
  }

  @Test
  void theClientUserCanProduceToAndReadATriggerTopic() throws Exception {
    KafkaClients client = kafka.clientClients();
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerConfig(client))) {
      p.send(record("orders", 0, "k", "an order")).get(30, TimeUnit.SECONDS);
    }
    assertEquals("an order",
        KafkaTestSupport.text(KafkaTestSupport.readAll(client, "orders", 1).get(0).value()));
  }

  @Test
  void thePlatformsAsyncInvocationsStillRun() throws Exception {
    String id = async.submit(new dev.confaas.gateway.AsyncInvocations.Submission(
        "fn", null, utf8("it"), Duration.ofMinutes(1), null)).get(30, TimeUnit.SECONDS);
    KafkaTestSupport.await("the async invocation completed", () -> async.status(id)
        .map(s -> s.state() == dev.confaas.gateway.AsyncInvocations.State.SUCCEEDED).orElse(false),
        () -> String.valueOf(async.status(id).map(s -> s.state() + " " + s.error())));
    assertEquals("ran it", new String(async.status(id).orElseThrow().result(), StandardCharsets.UTF_8));
  }

  private static Map<String, Object> producerConfig(KafkaClients clients) {
    Map<String, Object> c = clients.settings();
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return c;
  }

  private static Map<String, Object> consumerConfig(KafkaClients clients, String group) {
    Map<String, Object> c = new HashMap<>(clients.settings());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return c;
  }
}
