package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** JSON shapes of this package: trigger specs and bytes as text-or-base64. */
final class TriggerJson {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private TriggerJson() {}

  static ObjectNode spec(TriggerSpec s) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("id", s.id());
    n.put("function", s.function());
    n.put("topic", s.topic());
    n.put("group", s.group());
    n.put("replyTopic", s.replyTopic());
    n.put("deadLetterTopic", s.deadLetterTopic());
    n.put("maxRetries", s.maxRetries());
    n.put("batchSize", s.batchSize());
    n.put("ordering", s.ordering().wire());
    n.put("concurrency", s.concurrency());
    n.put("maxRecordBytes", s.maxRecordBytes());
    n.put("event", s.event().wire());
    return n;
  }

  /**
   * Reads a spec; absent fields take their defaults. Throws IllegalArgumentException naming the field.
   *
   * @param absentEvent the event format when {@code event} is absent: {@link TriggerSpec.Event#VALUE}
   *     for a new trigger, {@link TriggerSpec.Event#ENVELOPE} for one stored before the choice existed
   */
  static TriggerSpec spec(JsonNode n, TriggerSpec.Event absentEvent) {
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("a trigger must be a JSON object");
    }
    return new TriggerSpec(
        text(n, "id"),
        text(n, "function"),
        text(n, "topic"),
        text(n, "group"),
        text(n, "replyTopic"),
        text(n, "deadLetterTopic"),
        n.hasNonNull("maxRetries") ? integer(n, "maxRetries") : TriggerSpec.DEFAULT_MAX_RETRIES,
        integer(n, "batchSize"),
        n.hasNonNull("ordering") ? TriggerSpec.Ordering.parse(text(n, "ordering")) : null,
        integer(n, "concurrency"),
        integer(n, "maxRecordBytes"),
        n.hasNonNull("event") ? TriggerSpec.Event.parse(text(n, "event")) : absentEvent);
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(field + " must be a string, was " + v);
    }
    return v.asText();
  }

  private static int integer(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return 0;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new IllegalArgumentException(field + " must be an integer, was " + v);
    }
    return v.asInt();
  }

  /**
   * Puts {@code bytes} under {@code field} as UTF-8 text when they are valid UTF-8, else as base64
   * with {@code <field>Encoding: "base64"} beside it; {@code null} stays {@code null}.
   */
  static void putBytes(ObjectNode n, String field, byte[] bytes) {
    if (bytes == null) {
      n.putNull(field);
      return;
    }
    String text = utf8(bytes);
    if (text != null) {
      n.put(field, text);
    } else {
      n.put(field, Base64.getEncoder().encodeToString(bytes));
      n.put(field + "Encoding", "base64");
    }
  }

  /** The bytes as a string when they are valid UTF-8, else {@code null}. */
  static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
