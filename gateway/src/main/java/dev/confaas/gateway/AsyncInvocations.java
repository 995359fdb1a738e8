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
 *
 * <p>Neither {@link #submit} nor {@link #lookup} blocks its caller (an event loop calls them): work
 * that waits for storage runs elsewhere, and a store that cannot answer fails the future within a
 * bounded time.
 */
public interface AsyncInvocations extends AutoCloseable {

  /**
   * Stores the invocation durably; completes with its ID, or fails when it could not be stored:
   * with {@link IllegalArgumentException} when it never can be (too large), with {@link
   * dev.confaas.scheduler.InvocationRejectedException} when the platform refuses it, else (storage
   * unreachable or busy) with another exception, and then trying again later may succeed.
   */
  CompletableFuture<String> submit(Submission submission);

  /**
   * The invocation's state, or empty when the ID is unknown or its result has expired; fails when
   * the store cannot be read now.
   */
  CompletableFuture<Optional<Status>> lookup(String invocationId);

  /** {@link #lookup}, waiting for the answer: for tests and tools, never on an event loop. */
  default Optional<Status> status(String invocationId) {
    return lookup(invocationId).join();
  }

  @Override
  void close();

  /**
   * An invocation to run later: everything an invocation request holds but its deadline.
   *
   * @param payload the event; for a sealed invocation the caller's sealed request
   * @param timeout how long it may take once it runs; {@code null} for the default
   * @param clientContext the caller's client context (JSON on one line), or empty
   * @param targetTd the TD a sealed invocation was sealed to; {@code null} for a plain one
   * @param sealed whether {@code payload} is a sealed request (docs/sealed-invocations.md)
   */
  record Submission(String function, String version, byte[] payload, Duration timeout, String traceId,
      String clientContext, String targetTd, boolean sealed) {
    public Submission {
      if (sealed && targetTd == null) {
        throw new IllegalArgumentException("a sealed invocation names the TD it was sealed to");
      }
      clientContext = clientContext == null ? "" : clientContext;
    }

    /** A plain invocation without client context. */
    public Submission(String function, String version, byte[] payload, Duration timeout, String traceId) {
      this(function, version, payload, timeout, traceId, "", null, false);
    }
  }

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
   * @param result when {@code SUCCEEDED}, the function's response; for a sealed invocation that
   *     ran (succeeded or failed) the TD's encapsulated response (docs/sealed-invocations.md), which
   *     only the caller can open; else {@code null}
   * @param error a JSON object describing the error when {@code FAILED}/{@code REJECTED}, else
   *     {@code null}; for a sealed function error only its kind (the document is inside {@code
   *     result})
   * @param tdId the TD that ran it, when it ran
   * @param imageId the image that ran, when it ran
   * @param receipt the TD's receipt for the invocation (docs/receipts.md), when it ran and the TD
   *     signed one; else {@code null}
   * @param sealed whether it is a sealed invocation, so {@code result} is ciphertext
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
      String receipt,
      boolean sealed) {

    /** A plain invocation's status. */
    public Status(String id, String function, State state, Instant acceptedAt, Instant finishedAt,
        byte[] result, String error, String tdId, String imageId, String receipt) {
      this(id, function, state, acceptedAt, finishedAt, result, error, tdId, imageId, receipt, false);
    }

    /** A plain invocation's status without a receipt (not run yet, rejected, or from a TD that gave none). */
    public Status(String id, String function, State state, Instant acceptedAt, Instant finishedAt,
        byte[] result, String error, String tdId, String imageId) {
      this(id, function, state, acceptedAt, finishedAt, result, error, tdId, imageId, null, false);
    }
  }
}
