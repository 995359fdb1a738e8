package dev.confaas.gateway;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Accepted-but-not-yet-finished invocations ({@code POST /v1/functions/{name}/invoke-async}) and
 * their results ({@code GET /v1/invocations/{id}}).
 *
 * <p>The contract that makes {@code 202 Accepted} honest: {@link #submit} completes only once the
 * invocation is stored where a restart of the gateway will find it (the embedded deployment keeps it
 * in an internal Kafka topic), and every stored invocation is eventually run and its outcome
 * recorded. Results are kept for a configurable retention, then forgotten.
 */
public interface AsyncInvocations extends AutoCloseable {

  /** Stores the invocation durably; completes with its ID, or fails when it could not be stored. */
  CompletableFuture<String> submit(Submission submission);

  /** The invocation's state, or empty when the ID is unknown or its result has expired. */
  Optional<Status> status(String invocationId);

  @Override
  void close();

  /** An invocation to run later. */
  record Submission(String function, String version, byte[] payload, Duration timeout, String traceId) {}

  /** Where an accepted invocation stands. */
  enum State {
    QUEUED,
    RUNNING,
    SUCCEEDED,
    /** The function ran and returned an error (see {@link Status#error()}). */
    FAILED,
    /** The platform could not run it (see {@link Status#error()}). */
    REJECTED
  }

  /**
   * A snapshot of one invocation.
   *
   * @param result the function's response when {@code SUCCEEDED}, else {@code null}
   * @param error a JSON object describing the error when {@code FAILED}/{@code REJECTED}, else {@code null}
   * @param tdId the TD that ran it, when it ran
   * @param imageId the image that ran, when it ran
   * @param receipt the TD's receipt for the invocation (docs/receipts.md), when it ran and the TD
   *     signed one; else {@code null}
   */
  record Status(
      String id,
      String function,
      State state,
      Instant acceptedAt,
      Instant finishedAt,
      byte[] result,
      String error,
      String tdId,
      String imageId,
      String receipt) {

    /** A status without a receipt (not run yet, rejected, or from a TD that gave none). */
    public Status(String id, String function, State state, Instant acceptedAt, Instant finishedAt,
        byte[] result, String error, String tdId, String imageId) {
      this(id, function, state, acceptedAt, finishedAt, result, error, tdId, imageId, null);
    }
  }
}
