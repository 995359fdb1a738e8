package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** Turns Kafka records into the JSON events functions receive (format in package-info). */
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

  /** One record: its event; more: {@code {"records":[event, ...]}}. */
  static byte[] payload(List<ConsumerRecord<byte[], byte[]>> records) {
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
