/**
 * Kafka in ConFaaS: an embedded broker, and one engine that delivers records to functions, for
 * topic triggers and for the durable queue behind asynchronous invocations alike.
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
 *   <li>The engine, {@code TriggerRunner}: one consumer-group member on its own thread, supervised,
 *       with per-record completion and in-order commits, one retry policy ({@code Backoff}) and one
 *       dead-letter path. What records become and where outcomes go is its {@code RecordRoute}:
 *   <li>{@link dev.confaas.gateway.kafka.TriggerSpec} / {@link
 *       dev.confaas.gateway.kafka.TriggerStore} ({@code triggers.json}, rewritten atomically) /
 *       {@link dev.confaas.gateway.kafka.TriggerManager} (one runner per trigger, with a {@code
 *       TopicRoute}: events for one function, a reply topic, a dead-letter topic) / {@link
 *       dev.confaas.gateway.kafka.TriggerApi} (the {@code /v1/triggers} routes).
 *   <li>{@link dev.confaas.gateway.kafka.KafkaAsyncInvocations}: {@code AsyncInvocations} as a
 *       trigger on {@code confaas.async-invocations} whose route writes each outcome to the
 *       compacted {@code confaas.async-results} (record formats in {@code AsyncRecords}); statuses
 *       are served from a bounded cache, else read back from that topic. A sealed invocation's
 *       records hold only ciphertext (the caller's encapsulated request, the TD's encapsulated
 *       response) and the TD it must run in; a TD gone ends it {@code REJECTED}/{@code TD_GONE}
 *       at once (not back-pressure, so no retry), never run elsewhere.
 *   <li>{@code KafkaLimits}: every producer, consumer and topic is sized for the documented 6 MiB
 *       events and results ({@code max.request.size}, {@code max.message.bytes}, {@code
 *       max.partition.fetch.bytes} of 8 MiB), and every producer call is bounded in time.
 * </ul>
 *
 * <h2>The event a triggered function receives</h2>
 *
 * Per trigger ({@link dev.confaas.gateway.kafka.TriggerSpec.Event}): {@code value} (the default for
 * new triggers) is the record's value bytes, unchanged, as an HTTP body would be; {@code envelope}
 * (triggers stored before the choice existed keep it) is one JSON document per record:
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
 * {@code timestamp} is the record's timestamp in epoch milliseconds. With batchSize &gt; 1 (envelope
 * only) the event is {@code {"records": [event, ...]}} holding consecutive records of one
 * partition. The README's "Kafka events" section says the same for users.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li><b>At least once, never skipped.</b> Auto-commit is off. A record is complete when its
 *       outcome is delivered (the function succeeded and its reply or status was acknowledged) or
 *       when it was acknowledged as dead-lettered. Records complete one by one; per partition the
 *       runner commits the offset after the highest contiguous completed record, so work that
 *       finishes out of order never moves the offset past an unfinished record, and a slow record
 *       holds back only the commit, not the records after it. On shutdown, revocation or a failed
 *       consumer session the runner commits what is complete and drops work in flight; the next
 *       owner re-delivers it. A function may see a record more than once and must be idempotent.
 *   <li><b>Ordering.</b> {@code partition}: one record (or batch) in flight per partition, partitions
 *       in parallel up to {@code concurrency}. {@code key}: one record in flight per key (records
 *       without a key share one "null" key per partition); with batchSize &gt; 1 it behaves as {@code
 *       partition}. {@code none}: up to {@code concurrency} in flight (the async queue uses this).
 *   <li><b>One retry policy.</b> Exponential back-off with full jitter ({@code Backoff}: attempt n
 *       waits uniformly in {@code [0, min(30 s, 200 ms * 2^(n-1))]}). A function error, the
 *       rejection {@code NOT_FOUND} (the function was deleted) or a delivery refused for good is
 *       retried up to {@code maxRetries} times, each retry a new invocation with a new request ID
 *       (the async queue: {@code maxRetries} 0, the error is the outcome). A write that failed for
 *       a passing reason (broker unreachable, timed out: a {@code RetriableException}) is retried
 *       as a write, with the same back-off, without running the function again.
 *   <li><b>One dead-letter path.</b> After the retries a record is dead-lettered: a topic
 *       trigger's route produces it to the dead-letter topic, the async route stores a {@code
 *       FAILED} or {@code REJECTED} status. A record that cannot be dead-lettered as it is (too
 *       large for the dead-letter topic) is dead-lettered as a small descriptor: JSON {@code
 *       {"descriptor", "topic", "partition", "offset", "timestamp", "size", "keySize",
 *       "valueSize", "keyIncluded", "function", "errorType", "reason", "attempts",
 *       "notDeadLetteredWhole"}}, the original key when it is at most 1 KiB, header {@code
 *       confaas-descriptor: true}; an async status without its result. A dead-letter write that
 *       fails for a passing reason is retried with back-off while the partition is ours. With no
 *       dead-letter topic the record is retried until it succeeds: under {@code partition}
 *       ordering the partition stalls behind it; in any mode the committed offset never passes it.
 *   <li><b>Poison.</b> A record whose key plus value exceeds {@code maxRecordBytes} (type {@code
 *       Poison.RecordTooLarge}) or that the route cannot read ({@code Poison.Unreadable}: an async
 *       record in no known format) is dead-lettered at once (attempts 0), never given to the
 *       function. Without a dead-letter topic its partition stalls (paused, logged, {@code
 *       lastError}) until one is configured.
 *   <li><b>Back-pressure.</b> {@code OVERLOADED}, {@code UNAVAILABLE} (no TD free), {@code
 *       DEADLINE_EXCEEDED} (queued too long) or {@code SHUTTING_DOWN} from the invoker is not a
 *       failure of the record: no attempt is spent, nothing is dead-lettered; the record goes back
 *       to the queue and every partition is paused for {@code retryAfter} (at least 500 ms).
 *   <li><b>Bounded memory.</b> A partition is paused while more than {@code 2 *
 *       max(max.poll.records, batchSize)} of its records wait ({@code max.poll.records} is 20), and
 *       every partition holding records is paused while the runner holds more than 64 MiB of
 *       record bytes; a completed record's bytes are dropped even while an earlier one still runs.
 *       The async store keeps at most 200,000 status locations (oldest forgotten first) and 64 MiB
 *       of recent statuses with their results.
 *   <li><b>Supervised.</b> A consumer that fails (a Kafka call that timed out, a rebalance error)
 *       ends its session and a new one starts after a back-off (1 s to 60 s, full jitter); nothing
 *       else ends a runner. Its {@code state} ({@code STARTING}: no partitions yet or waiting for the
 *       broker, {@code RUNNING}, {@code RESTARTING}, {@code STOPPED}), {@code lastError}, {@code
 *       restarts} and lag are what {@code GET /v1/triggers/{id}} and the metrics report. Lag that
 *       cannot be refreshed (broker unreachable) stays as last seen, with {@code lagAt} saying when.
 *   <li><b>Never on an event loop.</b> Async submissions write to Kafka on the store's own threads
 *       (a producer's {@code send} may block for metadata or buffer space, at most 5 s); a
 *       submission fails within about 30 s when Kafka does not acknowledge it, at once when 64 MiB
 *       of submissions already wait. Status reads that miss the cache read Kafka on a thread of
 *       their own, with a bounded queue.
 * </ul>
 *
 * <h2>Headers written</h2>
 *
 * <p>Dead-letter records carry the original key, value and headers plus: {@code confaas-function},
 * {@code confaas-error} (message), {@code confaas-error-type} ({@code HANDLED:<errorType>}, {@code
 * CRASHED:Runtime.ExitError}, {@code Rejected.NOT_FOUND}, {@code Poison.RecordTooLarge}, {@code
 * Reply.ProduceFailed}, ...), {@code confaas-attempts} (invocations made), {@code
 * confaas-original-topic}, {@code confaas-original-partition}, {@code confaas-original-offset},
 * {@code confaas-original-timestamp} (all UTF-8 text). A descriptor carries the same {@code
 * confaas-*} headers (not the original ones) and {@code confaas-descriptor: true}.
 *
 * <p>Replies (when {@code replyTopic} is set) carry the function's response as value, the input key
 * (the last record's key for a batch; none when the input had none) and {@code
 * confaas-correlation-id} = {@code <topic>/<partition>/<offset>} (a batch: {@code
 * <topic>/<partition>/<first>-<last>}), {@code confaas-request-id}, {@code confaas-function} and
 * {@code confaas-receipt}. Replies, dead-letter records and async statuses are produced
 * idempotently with {@code acks=all}; offsets are committed only after the acknowledgement.
 *
 * <h2>Metrics</h2>
 *
 * Tagged {@code trigger} ({@code async} for the async queue), {@code function} ({@code -} for the
 * async queue), {@code topic}: {@code confaas.trigger.records.processed}, {@code .retries}, {@code
 * .dead.lettered}, {@code .poison}, {@code .restarts} (counters), {@code .invocation.latency}
 * (timer), {@code .up} (1 while {@code RUNNING}), {@code .paused.partitions}, {@code .in.flight},
 * {@code .buffered.bytes} (gauges), and {@code confaas.trigger.lag} per {@code partition} (end
 * offset minus committed offset, refreshed every second).
 */
package dev.confaas.gateway.kafka;
