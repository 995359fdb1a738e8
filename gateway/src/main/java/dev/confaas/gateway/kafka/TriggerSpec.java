package dev.confaas.gateway.kafka;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What a Kafka trigger does: which function the records of which topic are delivered to, and how.
 *
 * @param id the trigger's ID (assigned by {@link TriggerManager#add} when {@code null})
 * @param function the function the records are delivered to
 * @param topic the topic consumed
 * @param group the consumer group; default {@code confaas-<function>-<topic>}
 * @param replyTopic where the function's result is produced, keyed like the input; {@code null} =
 *     results are dropped
 * @param deadLetterTopic where records go that failed {@code maxRetries + 1} times or are poison;
 *     {@code null} = failing records are retried until they succeed (the partition stalls, never
 *     skips)
 * @param maxRetries retries after the first failed attempt before dead-lettering (default 3)
 * @param batchSize records per invocation (default 1); above 1 the event is {@code {"records":[..]}}
 * @param ordering what may run side by side (default {@link Ordering#PARTITION})
 * @param concurrency invocations of this trigger in flight at once (default 1)
 * @param maxRecordBytes a record whose key plus value is larger is poison (default 1 MiB)
 * @param event what the function receives for a record (default {@link Event#VALUE} for new
 *     triggers; triggers stored before the choice existed keep {@link Event#ENVELOPE})
 */
record TriggerSpec(
    String id,
    String function,
    String topic,
    String group,
    String replyTopic,
    String deadLetterTopic,
    int maxRetries,
    int batchSize,
    Ordering ordering,
    int concurrency,
    int maxRecordBytes,
    Event event) {

  public static final int DEFAULT_MAX_RETRIES = 3;
  public static final int DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
  private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}");

  /** What may be in flight at once. */
  public enum Ordering {
    /** One record (or batch) in flight per partition; partitions run in parallel. */
    PARTITION,
    /** One record in flight per key: records with the same key run in order, other keys alongside. */
    KEY,
    /** No order: up to {@code concurrency} records in flight. */
    NONE;

    /** Parses {@code partition|key|none}, naming the choices when {@code s} is none of them. */
    public static Ordering parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "ordering must be one of partition, key, none; was '" + s + "'");
      }
    }

    public String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** What a triggered function receives as its event (README, "Kafka events"). */
  public enum Event {
    /**
     * The record's value bytes, unchanged, as an HTTP invocation's body would be: a function works
     * the same whether it is invoked over HTTP or by a record. Key, headers and position are not
     * shown (replies still carry the key and a correlation ID). One record per invocation.
     */
    VALUE,
    /**
     * A JSON document describing the record: topic, partition, offset, timestamp, key, value and
     * headers (bytes as text or base64); with {@code batchSize > 1}, {@code {"records": [...]}}.
     */
    ENVELOPE;

    /** Parses {@code value|envelope}, naming the choices when {@code s} is neither. */
    public static Event parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("event must be one of value, envelope; was '" + s + "'");
      }
    }

    public String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Fills defaults (0 / {@code null} mean "default") and checks every field. */
  public TriggerSpec {
    if (function == null || !NAME.matcher(function).matches()) {
      throw new IllegalArgumentException(
          "function must be a function name (letters, digits, '.', '_', '-'), was '" + function + "'");
    }
    checkTopic("topic", topic);
    if (group == null || group.isBlank()) {
      group = "confaas-" + function + "-" + topic;
    }
    if (replyTopic != null && replyTopic.isBlank()) {
      replyTopic = null;
    }
    if (deadLetterTopic != null && deadLetterTopic.isBlank()) {
      deadLetterTopic = null;
    }
    if (replyTopic != null) {
      checkTopic("replyTopic", replyTopic);
    }
    if (deadLetterTopic != null) {
      checkTopic("deadLetterTopic", deadLetterTopic);
    }
    if (topic.equals(replyTopic) || topic.equals(deadLetterTopic)) {
      throw new IllegalArgumentException(
          "replyTopic and deadLetterTopic must differ from topic '" + topic + "' (it would loop)");
    }
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must be 0 or more, was " + maxRetries);
    }
    batchSize = batchSize == 0 ? 1 : batchSize;
    if (batchSize < 1 || batchSize > 500) {
      throw new IllegalArgumentException("batchSize must be between 1 and 500, was " + batchSize);
    }
    ordering = ordering == null ? Ordering.PARTITION : ordering;
    concurrency = concurrency == 0 ? 1 : concurrency;
    if (concurrency < 1 || concurrency > 1000) {
      throw new IllegalArgumentException("concurrency must be between 1 and 1000, was " + concurrency);
    }
    maxRecordBytes = maxRecordBytes == 0 ? DEFAULT_MAX_RECORD_BYTES : maxRecordBytes;
    if (maxRecordBytes < 1) {
      throw new IllegalArgumentException("maxRecordBytes must be positive, was " + maxRecordBytes);
    }
    event = event == null ? Event.VALUE : event;
    if (event == Event.VALUE && batchSize > 1) {
      throw new IllegalArgumentException("event 'value' delivers one record per invocation; a batch"
          + " (batchSize " + batchSize + ") needs event 'envelope'");
    }
  }

  /** A trigger with every option at its default. */
  public static TriggerSpec of(String function, String topic) {
    return new TriggerSpec(null, function, topic, null, null, null, DEFAULT_MAX_RETRIES, 1, null, 1, 0, null);
  }

  public TriggerSpec withId(String newId) {
    return new TriggerSpec(
        newId, function, topic, group, replyTopic, deadLetterTopic, maxRetries, batchSize, ordering,
        concurrency, maxRecordBytes, event);
  }

  /** How the trigger's runner consumes. */
  TriggerRunner.Consumption consumption() {
    return new TriggerRunner.Consumption(id, function, topic, group, "confaas-trigger-" + id, ordering,
        concurrency, batchSize, maxRetries, maxRecordBytes);
  }

  /** Kafka's rule for topic names: 1..249 of {@code [a-zA-Z0-9._-]}, not {@code .} or {@code ..}. */
  static void checkTopic(String field, String name) {
    if (name == null || !TOPIC.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException(
          field + " must be a Kafka topic name (1-249 of letters, digits, '.', '_', '-'), was '"
              + name + "'");
    }
    if (name.startsWith(BrokerAcls.INTERNAL_TOPIC_PREFIX)) {
      throw new IllegalArgumentException(field + " '" + name + "' is reserved: topics starting with '"
          + BrokerAcls.INTERNAL_TOPIC_PREFIX + "' are the platform's own (async invocations and"
          + " results); pick another name");
    }
  }
}
