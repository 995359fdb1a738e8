package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.gateway.Receipts;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * A topic trigger's route: records become events for one function ({@link TriggerSpec.Event}),
 * results go to the reply topic (if any), records that keep failing to the dead-letter topic (if
 * any). Header names are in the package documentation.
 */
final class TopicRoute implements RecordRoute {
  /** A key longer than this is left out of a dead-letter descriptor (its size is still given). */
  static final int DESCRIPTOR_MAX_KEY_BYTES = 1024;

  private final TriggerSpec spec;
  private final Duration invocationTimeout;
  private final KafkaProducer<byte[], byte[]> producer;

  TopicRoute(TriggerSpec spec, KafkaClients clients, Duration invocationTimeout) {
    this.spec = spec;
    this.invocationTimeout = invocationTimeout;
    boolean writes = spec.replyTopic() != null || spec.deadLetterTopic() != null;
    this.producer = writes
        ? new KafkaProducer<>(KafkaLimits.producer(clients, "confaas-trigger-" + spec.id() + "-out"))
        : null;
  }

  @Override
  public InvocationRequest invocation(List<ConsumerRecord<byte[], byte[]>> records, String requestId, Instant now) {
    return new InvocationRequest(spec.function(), null, RecordEvents.payload(records, spec.event()),
        now.plus(invocationTimeout), requestId, "");
  }

  @Override
  public CompletableFuture<Void> succeeded(
      List<ConsumerRecord<byte[], byte[]>> records, InvocationRequest request, InvocationResult result) {
    if (spec.replyTopic() == null) {
      return CompletableFuture.completedFuture(null);
    }
    ConsumerRecord<byte[], byte[]> first = records.get(0);
    ConsumerRecord<byte[], byte[]> last = records.get(records.size() - 1);
    String correlation = first.topic() + "/" + first.partition() + "/" + first.offset()
        + (first == last ? "" : "-" + last.offset());
    RecordHeaders headers = new RecordHeaders();
    headers.add("confaas-correlation-id", utf8(correlation));
    headers.add("confaas-request-id", utf8(request.requestId()));
    headers.add("confaas-function", utf8(spec.function()));
    if (result.hasReceipt()) {
      headers.add(Receipts.KAFKA_HEADER, utf8(result.receipt()));
    }
    // The reply is keyed like the input (the last record's key for a batch), so a reader can join
    // them; an input without a key gives a reply without one (the correlation ID still joins).
    return send(new ProducerRecord<>(spec.replyTopic(), null, last.key(), result.payload(), headers));
  }

  @Override
  public boolean deadLetters() {
    return spec.deadLetterTopic() != null;
  }

  @Override
  public CompletableFuture<Void> deadLetter(ConsumerRecord<byte[], byte[]> r, Failure failure, String notWhole) {
    RecordHeaders headers = new RecordHeaders();
    if (notWhole == null) {
      for (Header h : r.headers()) {
        headers.add(h.key(), h.value());
      }
    }
    headers.add("confaas-function", utf8(spec.function()));
    headers.add("confaas-error", utf8(notWhole == null ? failure.message() : shorten(failure.message(), 2048)));
    headers.add("confaas-error-type", utf8(failure.type()));
    headers.add("confaas-attempts", utf8(Integer.toString(failure.attempts())));
    headers.add("confaas-original-topic", utf8(r.topic()));
    headers.add("confaas-original-partition", utf8(Integer.toString(r.partition())));
    headers.add("confaas-original-offset", utf8(Long.toString(r.offset())));
    headers.add("confaas-original-timestamp", utf8(Long.toString(r.timestamp())));
    if (notWhole == null) {
      return send(new ProducerRecord<>(spec.deadLetterTopic(), null, r.key(), r.value(), headers));
    }
    headers.add("confaas-descriptor", utf8("true"));
    byte[] key = r.key() != null && r.key().length <= DESCRIPTOR_MAX_KEY_BYTES ? r.key() : null;
    return send(new ProducerRecord<>(spec.deadLetterTopic(), null, key, descriptor(r, failure, notWhole), headers));
  }

  /**
   * What stands in for a record that could not be dead-lettered whole: where it is and why it
   * failed, as JSON, a few hundred bytes whatever the record's size.
   */
  private byte[] descriptor(ConsumerRecord<byte[], byte[]> r, Failure failure, String notWhole) {
    int keySize = r.key() == null ? 0 : r.key().length;
    int valueSize = r.value() == null ? 0 : r.value().length;
    ObjectNode d = TriggerJson.MAPPER.createObjectNode();
    d.put("descriptor", true);
    d.put("topic", r.topic());
    d.put("partition", r.partition());
    d.put("offset", r.offset());
    d.put("timestamp", r.timestamp());
    d.put("size", keySize + valueSize);
    d.put("keySize", keySize);
    d.put("valueSize", valueSize);
    d.put("keyIncluded", r.key() != null && keySize <= DESCRIPTOR_MAX_KEY_BYTES);
    d.put("function", spec.function());
    d.put("errorType", failure.type());
    d.put("reason", shorten(failure.message(), 2048));
    d.put("attempts", failure.attempts());
    d.put("notDeadLetteredWhole", shorten(notWhole, 1024));
    try {
      return TriggerJson.MAPPER.writeValueAsBytes(d);
    } catch (IOException e) {
      throw new IllegalStateException("could not write a dead-letter descriptor", e);
    }
  }

  static String shorten(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    return s.substring(0, max) + "... (" + (s.length() - max) + " more characters)";
  }

  private CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    try {
      producer.send(record, (md, ex) -> {
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

  private static byte[] utf8(String s) {
    return String.valueOf(s).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
  }
}
