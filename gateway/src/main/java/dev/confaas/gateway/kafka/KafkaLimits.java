package dev.confaas.gateway.kafka;

import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The sizes and timeouts every Kafka client and topic of the platform is set up with, derived from
 * the limits the API documents: an event and a response are at most {@value #MAX_EVENT_BYTES}
 * bytes (the gateway's body limit, the agent's response limit). A record carrying one of them also
 * carries metadata (headers: an async status, a receipt, a dead-letter reason), so the platform's
 * records may be up to {@value #MAX_RECORD_BYTES} bytes, and its topics and consumers take that.
 * Kafka's defaults (1 MiB per request, per topic message, per partition fetch) would refuse most
 * of that range.
 */
final class KafkaLimits {
  /** The largest event or response the API documents: 6 MiB, as Lambda's synchronous limit. */
  static final int MAX_EVENT_BYTES = 6 * 1024 * 1024;
  /** The largest record the platform produces: an event or response and its headers. */
  static final int MAX_RECORD_BYTES = 8 * 1024 * 1024;
  /**
   * {@code max.message.bytes} of the topics the platform creates and {@code message.max.bytes} of
   * the embedded broker: one batch holding one record of {@link #MAX_RECORD_BYTES} and its framing.
   */
  static final int MAX_MESSAGE_BYTES = MAX_RECORD_BYTES + 64 * 1024;
  /** {@code buffer.memory} of each producer: room for several of the largest records at once. */
  static final long PRODUCER_BUFFER_BYTES = 64L * 1024 * 1024;
  /** How long {@code send()} may wait for metadata or buffer space before failing. */
  static final Duration MAX_BLOCK = Duration.ofSeconds(5);
  /** How long a produce request may wait for the broker's answer. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  /** How long a record may take, retries included, before its send fails (broker unreachable). */
  static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(15);

  private KafkaLimits() {}

  /**
   * A producer's settings: idempotent, {@code acks=all}, byte-array keys and values, sized for
   * {@link #MAX_RECORD_BYTES} records, and bounded in how long a send can block or wait.
   */
  static Map<String, Object> producer(KafkaClients clients, String clientId) {
    Map<String, Object> c = clients.settings();
    c.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    c.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_RECORD_BYTES);
    c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, PRODUCER_BUFFER_BYTES);
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis());
    c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) REQUEST_TIMEOUT.toMillis());
    c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis());
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return c;
  }

  /** A consumer's settings: byte-array keys and values, fetching records of any size the platform writes. */
  static Map<String, Object> consumer(KafkaClients clients, String clientId) {
    Map<String, Object> c = clients.settings();
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, MAX_MESSAGE_BYTES);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return c;
  }

  /** The configuration of a topic the platform creates. */
  static Map<String, String> topicConfig() {
    return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES));
  }
}
