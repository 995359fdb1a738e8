/**
 * Kafka in ConFaaS: an embedded broker, topic triggers that deliver records to functions, and the
 * durable queue behind asynchronous invocations.
 *
 * <h2>Pieces</h2>
 *
 * <ul>
 *   <li>{@link dev.confaas.gateway.kafka.EmbeddedKafka}: a real Apache Kafka (KRaft, one combined
 *       broker + controller) inside the gateway's JVM, data under the platform's data directory,
 *       topics and committed offsets surviving restarts, {@code auto.create.topics.enable=false}.
 *       Clients authenticate (SASL/PLAIN, {@code BrokerCredentials}); ACLs ({@code BrokerAcls})
 *       keep the internal topics ({@code confaas.*}) and groups ({@code confaas-*}) to the
 *       platform. Everything else takes {@link dev.confaas.gateway.kafka.KafkaClients}, so an
 *       external cluster replaces it.
 *   <li>{@link dev.confaas.gateway.kafka.TriggerSpec} / {@link
 *       dev.confaas.gateway.kafka.TriggerStore} ({@code triggers.json}, rewritten atomically) /
 *       {@link dev.confaas.gateway.kafka.TriggerManager} (one runner, i.e. one consumer-group member
 *       on its own thread, per trigger) / {@link dev.confaas.gateway.kafka.TriggerApi} (the {@code
 *       /v1/triggers} routes).
 *   <li>{@link dev.confaas.gateway.kafka.KafkaAsyncInvocations}: {@code AsyncInvocations} on the
 *       internal topics {@code confaas.async-invocations} and {@code confaas.async-results}.
 * </ul>
 *
 * <h2>The event a triggered function receives</h2>
 *
 * One record (batchSize 1):
 *
 * <pre>{@code
 * {"topic": "orders", "partition": 2, "offset": 4711, "timestamp": 1763798400000,
 *  "key": "customer-7", "value": "{\"sku\":\"A-1\"}",
 *  "headers": [{"key": "trace", "value": "abc"}]}
 * }</pre>
 *
 * {@code key}, {@code value} and each header {@code value} are the bytes as UTF-8 text when they are
 * valid UTF-8; otherwise they are base64 and a sibling marker says so ({@code "keyEncoding":
 * "base64"}, {@code "valueEncoding": "base64"}). A {@code null} key or value is JSON {@code null}.
 * {@code timestamp} is the record's timestamp in epoch milliseconds. With batchSize &gt; 1 the event
 * is {@code {"records": [event, ...]}} holding consecutive records of one partition.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li><b>At least once, never skipped.</b> Auto-commit is off. A record is complete when the
 *       function succeeded (and its reply, if any, was acknowledged) or when it was acknowledged on
 *       the dead-letter topic. Per partition the runner commits the offset after the highest
 *       contiguous completed record, so work that finishes out of order (key or no ordering) never
 *       moves the offset past an unfinished record. On shutdown or when partitions are revoked the
 *       runner commits what is complete and drops work in flight; the next owner re-delivers it. A
 *       function may therefore see a record more than once and must be idempotent.
 *   <li><b>Ordering.</b> {@code partition}: one record (or batch) in flight per partition, partitions
 *       in parallel up to {@code concurrency}. {@code key}: one record in flight per key (records
 *       without a key share one "null" key per partition); with batchSize &gt; 1 it behaves as {@code
 *       partition}. {@code none}: up to {@code concurrency} in flight.
 *   <li><b>Failures.</b> A function error, or the rejection {@code NOT_FOUND} (the function was
 *       deleted), is retried with exponential
 *       backoff and jitter (base 200 ms, cap 30 s) up to {@code maxRetries} times; each retry is a
 *       new invocation with a new request ID. Then the record goes to the dead-letter topic. With no
 *       dead-letter topic the record is retried at the capped backoff until it succeeds: under
 *       {@code partition} ordering the partition stalls behind it; in any mode the committed offset
 *       never passes it. Nothing is skipped silently (a warning is logged, {@code
 *       confaas.trigger.retries} keeps counting).
 *   <li><b>Poison.</b> A record whose key plus value exceeds {@code maxRecordBytes} goes to the
 *       dead-letter topic at once (error type {@code Poison.RecordTooLarge}, attempts 0), never to
 *       the function. Without a dead-letter topic its partition stalls (paused, logged) until one
 *       is configured. (Every other record can be turned into an event: bytes that are not UTF-8
 *       travel as base64.)
 *   <li><b>Back-pressure.</b> {@code OVERLOADED}, {@code UNAVAILABLE} (no TD free), {@code
 *       DEADLINE_EXCEEDED} (queued too long) or {@code SHUTTING_DOWN} from the invoker is not a
 *       failure of the record: no attempt is spent, nothing is dead-lettered; the record goes back to the queue and every partition is paused for {@code
 *       retryAfter} (at least 500 ms). A partition is also paused while more than {@code 2 *
 *       max(max.poll.records, batchSize)} of its records wait, so memory stays bounded however slow
 *       the function is ({@code max.poll.records} is 20).
 * </ul>
 *
 * <h2>Headers written</h2>
 *
 * <p>Dead-letter records carry the original key, value and headers plus: {@code confaas-function},
 * {@code confaas-error} (message), {@code confaas-error-type} ({@code HANDLED:<errorType>}, {@code
 * CRASHED:Runtime.ExitError}, {@code Rejected.NOT_FOUND}, {@code Poison.RecordTooLarge}, ...), {@code
 * confaas-attempts} (invocations made), {@code confaas-original-topic}, {@code
 * confaas-original-partition}, {@code confaas-original-offset}, {@code confaas-original-timestamp}
 * (all UTF-8 text).
 *
 * <p>Replies (when {@code replyTopic} is set) carry the function's response as value, the input key
 * (the last record's key for a batch) and {@code confaas-correlation-id} = {@code
 * <topic>/<partition>/<offset>} (a batch: {@code <topic>/<partition>/<first>-<last>}), {@code
 * confaas-request-id} and {@code confaas-function}. Replies and dead-letter records are produced
 * idempotently with {@code acks=all}; offsets are committed only after the acknowledgement.
 *
 * <h2>Metrics</h2>
 *
 * Tagged {@code trigger}, {@code function}, {@code topic}: {@code confaas.trigger.records.processed},
 * {@code .retries}, {@code .dead.lettered}, {@code .poison} (counters), {@code
 * .invocation.latency} (timer), {@code .paused.partitions}, {@code .in.flight} (gauges), and {@code
 * confaas.trigger.lag} per {@code partition} (end offset minus committed offset, refreshed every
 * second).
 */
package dev.confaas.gateway.kafka;
