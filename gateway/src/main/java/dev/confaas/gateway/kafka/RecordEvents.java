package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** Turns Kafka records into the events triggered functions receive (README, "Kafka events"). */
final class RecordEvents {
  private RecordEvents() {}

  static ObjectNode event(ConsumerRecord<byte[], byte[]> r) {
    ObjectNode n = TriggerJson.MAPPER.createObjectNode();
    n.put("topic", r.topic());
    n.put("partition", r.partition());
    n.put("offset", r.offset());
    n.put("timestamp", r.timestamp());
    TriggerJson.putBytes(n, "key", r.key());
    TriggerJson.putBytes(n, "value", r.value());
    ArrayNode headers = n.putArray("headers");
    for (Header h : r.headers()) {
      ObjectNode hn = headers.addObject();
      hn.put("key", h.key());
      TriggerJson.putBytes(hn, "value", h.value());
    }
    return n;
  }

  /**
   * The event a function receives for {@code records}: with {@link TriggerSpec.Event#VALUE} the
   * one record's value bytes (empty for a {@code null} value); with {@link
   * TriggerSpec.Event#ENVELOPE} the envelope of one record, or {@code {"records":[envelope, ...]}}
   * for more.
   */
  static byte[] payload(List<ConsumerRecord<byte[], byte[]>> records, TriggerSpec.Event format) {
    if (format == TriggerSpec.Event.VALUE) {
      if (records.size() != 1) {
        throw new IllegalArgumentException("event 'value' takes one record, got " + records.size());
      }
      byte[] v = records.get(0).value();
      return v == null ? new byte[0] : v;
    }
    return envelope(records);
  }

  /** One record: its envelope; more: {@code {"records":[envelope, ...]}}. */
  static byte[] envelope(List<ConsumerRecord<byte[], byte[]>> records) {
    try {
      if (records.size() == 1) {
        return TriggerJson.MAPPER.writeValueAsBytes(event(records.get(0)));
      }
      ObjectNode batch = TriggerJson.MAPPER.createObjectNode();
      ArrayNode array = batch.putArray("records");
      records.forEach(r -> array.add(event(r)));
      return TriggerJson.MAPPER.writeValueAsBytes(batch);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write a record event as JSON", e);
    }
  }
}
