package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.gateway.AsyncInvocations.State;
import dev.confaas.gateway.AsyncInvocations.Status;
import dev.confaas.scheduler.InvocationRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The records of the async queue, on {@value KafkaAsyncInvocations#INVOCATIONS_TOPIC} and {@value
 * KafkaAsyncInvocations#RESULTS_TOPIC}. Both are keyed by the invocation ID (UTF-8) and carry their
 * bytes (event, result) as the record value, unencoded, with the rest as JSON in one header, so a 6
 * MiB event is a 6 MiB record and not 8 MiB of base64.
 *
 * <ul>
 *   <li>Invocation: header {@value #INVOCATION_HEADER} = {@code {"v":2, "id", "function",
 *       "version", "timeoutMs", "traceId", "clientContext", "cognitoIdentity", "acceptedAt",
 *       "sealed", "targetTd"}}; value = the event, or for a sealed invocation the caller's sealed
 *       request (then {@code targetTd} names the TD it was sealed to). It holds everything an
 *       {@link InvocationRequest} holds but the deadline (acceptance time plus timeout would be
 *       stale when it runs), so sealed async invocations need no new format.
 *   <li>Status: header {@value #STATUS_HEADER} = {@code {"v":2, "id", "function", "state",
 *       "acceptedAt", "finishedAt", "error", "tdId", "imageId", "receipt", "hasResult", "sealed"}};
 *       value = the result ({@code SUCCEEDED}; for a sealed invocation that ran, the TD's
 *       encapsulated response, also when {@code FAILED}), else empty. Never a {@code null} value: that would be a
 *       tombstone, and compaction would delete the status.
 * </ul>
 *
 * The first format (before this one) is still read: invocations and statuses as one JSON value
 * with the bytes in base64 ({@code "payload"}, {@code "result"}), no header.
 */
final class AsyncRecords {
  static final String INVOCATION_HEADER = "confaas-invocation";
  static final String STATUS_HEADER = "confaas-status";
  static final int FORMAT = 2;
  private static final byte[] EMPTY = new byte[0];

  private AsyncRecords() {}

  /** One queued invocation. */
  record Invocation(
      String id,
      String function,
      String version,
      byte[] payload,
      long timeoutMs,
      String traceId,
      String clientContext,
      String cognitoIdentity,
      Instant acceptedAt,
      boolean sealed,
      String targetTd) {

    /** The request to run now: its deadline is now plus its timeout; its request ID is its ID. */
    InvocationRequest request(Instant now) {
      Instant deadline = now.plus(Duration.ofMillis(timeoutMs));
      if (sealed) {
        return InvocationRequest.sealed(function, version, payload, targetTd, deadline, id, traceId);
      }
      return new InvocationRequest(function, version, payload, deadline, id, traceId, clientContext,
          cognitoIdentity);
    }
  }

  static ProducerRecord<byte[], byte[]> invocation(String topic, Invocation inv) {
    ObjectNode h = TriggerJson.MAPPER.createObjectNode();
    h.put("v", FORMAT);
    h.put("id", inv.id());
    h.put("function", inv.function());
    h.put("version", inv.version());
    h.put("timeoutMs", inv.timeoutMs());
    h.put("traceId", inv.traceId());
    h.put("clientContext", inv.clientContext());
    h.put("cognitoIdentity", inv.cognitoIdentity());
    h.put("acceptedAt", inv.acceptedAt().toString());
    h.put("sealed", inv.sealed());
    h.put("targetTd", inv.targetTd());
    RecordHeaders headers = new RecordHeaders();
    headers.add(INVOCATION_HEADER, json(h));
    return new ProducerRecord<>(topic, null, utf8(inv.id()), inv.payload(), headers);
  }

  /**
   * Reads an invocation record (this format or the first).
   *
   * @throws RecordRoute.Unreadable saying what is wrong with it
   */
  static Invocation readInvocation(ConsumerRecord<byte[], byte[]> r) {
    try {
      Header header = r.headers().lastHeader(INVOCATION_HEADER);
      JsonNode n;
      byte[] payload;
      if (header != null) {
        n = TriggerJson.MAPPER.readTree(header.value());
        if (n.path("v").asInt() != FORMAT) {
          throw new IOException("format " + n.path("v") + " is not one this platform reads (" + FORMAT + ")");
        }
        payload = r.value() == null ? EMPTY : r.value();
      } else {
        if (r.value() == null) {
          throw new IOException("it has neither a " + INVOCATION_HEADER + " header nor a value");
        }
        n = TriggerJson.MAPPER.readTree(r.value()); // the first format: one JSON value
        payload = Base64.getDecoder().decode(n.path("payload").asText(""));
      }
      String id = n.hasNonNull("id") ? n.get("id").asText() : idOf(r);
      String function = required(n, "function");
      boolean sealed = n.path("sealed").asBoolean(false);
      String targetTd = text(n, "targetTd");
      if (sealed && targetTd == null) {
        throw new IOException("it is sealed but names no targetTd");
      }
      return new Invocation(id, function, text(n, "version"), payload, n.path("timeoutMs").asLong(60_000),
          text(n, "traceId"), text(n, "clientContext"), text(n, "cognitoIdentity"),
          Instant.parse(required(n, "acceptedAt")), sealed, targetTd);
    } catch (IOException | RuntimeException e) {
      throw new RecordRoute.Unreadable("the async invocation record at " + r.topic() + "/" + r.partition() + "/"
          + r.offset() + " cannot be read: " + e.getMessage(), e);
    }
  }

  /** The invocation ID a record is keyed by, or for a record without a key its position. */
  static String idOf(ConsumerRecord<byte[], byte[]> r) {
    return r.key() != null ? new String(r.key(), StandardCharsets.UTF_8)
        : "record-" + r.partition() + "-" + r.offset();
  }

  /** The function named in an invocation record, or {@code ""} when it cannot be read. */
  static String functionOf(ConsumerRecord<byte[], byte[]> r) {
    try {
      Header header = r.headers().lastHeader(INVOCATION_HEADER);
      JsonNode n = TriggerJson.MAPPER.readTree(header != null ? header.value() : r.value());
      return n.path("function").asText("");
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  static ProducerRecord<byte[], byte[]> status(String topic, Status s) {
    ObjectNode h = TriggerJson.MAPPER.createObjectNode();
    h.put("v", FORMAT);
    h.put("id", s.id());
    h.put("function", s.function());
    h.put("state", s.state().name());
    h.put("acceptedAt", s.acceptedAt().toString());
    h.put("finishedAt", s.finishedAt() == null ? null : s.finishedAt().toString());
    h.put("error", s.error());
    h.put("tdId", s.tdId());
    h.put("imageId", s.imageId());
    h.put("receipt", s.receipt());
    h.put("hasResult", s.result() != null);
    h.put("sealed", s.sealed());
    RecordHeaders headers = new RecordHeaders();
    headers.add(STATUS_HEADER, json(h));
    return new ProducerRecord<>(topic, null, utf8(s.id()), s.result() == null ? EMPTY : s.result(), headers);
  }

  /** Reads a status record (this format or the first); {@code null} for a tombstone. */
  static Status readStatus(ConsumerRecord<byte[], byte[]> r) throws IOException {
    Header header = r.headers().lastHeader(STATUS_HEADER);
    if (header == null && r.value() == null) {
      return null;
    }
    JsonNode n = TriggerJson.MAPPER.readTree(header != null ? header.value() : r.value());
    byte[] result;
    if (header != null) {
      result = n.path("hasResult").asBoolean(false) ? (r.value() == null ? EMPTY : r.value()) : null;
    } else {
      result = n.hasNonNull("result") ? Base64.getDecoder().decode(n.get("result").asText()) : null;
    }
    try {
      return new Status(
          required(n, "id"),
          n.path("function").asText(""),
          State.valueOf(required(n, "state")),
          Instant.parse(required(n, "acceptedAt")),
          n.hasNonNull("finishedAt") ? Instant.parse(n.get("finishedAt").asText()) : null,
          result,
          text(n, "error"),
          text(n, "tdId"),
          text(n, "imageId"),
          text(n, "receipt"),
          n.path("sealed").asBoolean(false));
    } catch (RuntimeException e) {
      throw new IOException("unreadable status: " + e.getMessage(), e);
    }
  }

  static boolean isFinal(State s) {
    return s == State.SUCCEEDED || s == State.FAILED || s == State.REJECTED;
  }

  private static String required(JsonNode n, String field) throws IOException {
    String v = text(n, field);
    if (v == null || v.isEmpty()) {
      throw new IOException("it has no \"" + field + "\"");
    }
    return v;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static byte[] json(JsonNode n) {
    try {
      return TriggerJson.MAPPER.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
