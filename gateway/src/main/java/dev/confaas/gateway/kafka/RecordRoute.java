package dev.confaas.gateway.kafka;

import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * What a {@link TriggerRunner} does with the records it consumes: which invocation they become and
 * where the outcome goes. The runner owns everything else (polling, ordering, retries, back-off,
 * commits, supervision), so a topic trigger ({@link TopicRoute}: replies and a dead-letter topic)
 * and the async queue ({@link KafkaAsyncInvocations}: a results topic) share one engine.
 *
 * <p>The runner calls these on its own thread. The futures they return may complete on any thread.
 * A future failing with a {@link org.apache.kafka.common.errors.RetriableException} (broker
 * unreachable, timed out) is retried by the runner with back-off; any other failure means the
 * write can never succeed as it is (a record too large, say).
 */
interface RecordRoute extends AutoCloseable {

  /**
   * The invocation for a unit of consecutive records of one partition (one record unless the
   * trigger batches).
   *
   * @param requestId a fresh ID the route may use as the request ID
   * @throws Unreadable when the records cannot be turned into an invocation; the runner
   *     dead-letters them at once
   */
  InvocationRequest invocation(List<ConsumerRecord<byte[], byte[]>> records, String requestId, Instant now);

  /** Whether the record's outcome was stored before (a crash between storing and committing). */
  default boolean alreadyDone(ConsumerRecord<byte[], byte[]> record) {
    return false;
  }

  /** The invocation is about to be handed to the function. */
  default void started(List<ConsumerRecord<byte[], byte[]>> records, InvocationRequest request) {}

  /** Delivers a successful result (a reply record, a stored status); completes once acknowledged. */
  CompletableFuture<Void> succeeded(
      List<ConsumerRecord<byte[], byte[]>> records, InvocationRequest request, InvocationResult result);

  /** Whether records that keep failing can be dead-lettered; if not, they are retried until they succeed. */
  boolean deadLetters();

  /**
   * Dead-letters one record; completes once acknowledged.
   *
   * @param notWhole {@code null} to dead-letter the record as it is; else why that failed, and the
   *     route writes a small descriptor instead (topic, partition, offset, size, reason), which
   *     must not fail for the record's size
   */
  CompletableFuture<Void> deadLetter(ConsumerRecord<byte[], byte[]> record, Failure failure, String notWhole);

  /** Releases what the route holds (its producer); the runner calls it when it stops for good. */
  @Override
  void close();

  /** Why records are dead-lettered. */
  enum FailureKind {
    /** The function ran and returned an error ({@link Failure#result()} holds it). */
    FUNCTION_ERROR,
    /** The platform refused it for good ({@link Failure#cause()} is the {@link InvocationRejectedException}). */
    REJECTED,
    /** The invoker failed in some other way ({@link Failure#cause()}). */
    INVOKER_ERROR,
    /** The result could not be delivered (reply or status write refused for good). */
    NOT_DELIVERED,
    /** The record is larger than the trigger takes. */
    TOO_LARGE,
    /** The record cannot be turned into an invocation. */
    UNREADABLE
  }

  /**
   * Why a unit failed for good.
   *
   * @param type as the dead-letter header {@code confaas-error-type} shows it ({@code
   *     HANDLED:ValueError}, {@code Rejected.NOT_FOUND}, {@code Poison.RecordTooLarge}, ...)
   * @param attempts invocations made (0 for poison)
   * @param result the function's last result, for {@link FailureKind#FUNCTION_ERROR} and {@link
   *     FailureKind#NOT_DELIVERED}; else {@code null}
   * @param cause the exception, for {@link FailureKind#REJECTED}, {@link FailureKind#INVOKER_ERROR}
   *     and {@link FailureKind#NOT_DELIVERED}; else {@code null}
   */
  record Failure(FailureKind kind, String type, String message, int attempts, InvocationResult result, Throwable cause) {
    Failure withAttempts(int n) {
      return new Failure(kind, type, message, n, result, cause);
    }
  }

  /** The records cannot be turned into an invocation (a malformed internal record, say). */
  final class Unreadable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unreadable(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
