package dev.confaas.gateway;

import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Async invocations kept in this process's memory and run at once through the {@link
 * FunctionInvoker}.
 *
 * <p><b>Not durable</b>: it does not keep {@link AsyncInvocations}'s promise that an accepted
 * invocation survives a restart. A crash or restart loses queued and running invocations and every
 * result. It exists so the async API works (tests, single-process development); the durable
 * implementation keeps submissions in a Kafka topic.
 *
 * <p>Memory is bounded: statuses live in a cache of at most {@link #MAX_STATUS_BYTES} (results
 * count by their size), so under pressure the least useful are forgotten before their retention.
 */
public final class InMemoryAsyncInvocations implements AsyncInvocations {
  private final FunctionInvoker invoker;
  private final Clock clock;
  private final Duration retention;
  private final Duration defaultTimeout;
  /** What the statuses (results included) may hold in memory. */
  static final long MAX_STATUS_BYTES = 64L * 1024 * 1024;

  private final Cache<String, Status> statuses = Caffeine.newBuilder()
      .maximumWeight(MAX_STATUS_BYTES)
      .weigher((String id, Status s) -> weight(s))
      .build();
  private volatile boolean closed;

  /**
   * @param retention how long a finished invocation's result is kept
   * @param defaultTimeout deadline of a submission that names no timeout
   */
  public InMemoryAsyncInvocations(
      FunctionInvoker invoker, Clock clock, Duration retention, Duration defaultTimeout) {
    this.invoker = invoker;
    this.clock = clock;
    this.retention = retention;
    this.defaultTimeout = defaultTimeout;
  }

  @Override
  public CompletableFuture<String> submit(Submission s) {
    if (closed) {
      return CompletableFuture.failedFuture(new InvocationRejectedException(
          InvocationRejectedException.Reason.SHUTTING_DOWN, "the gateway is shutting down"));
    }
    expire();
    String id = UUID.randomUUID().toString();
    Instant accepted = clock.instant();
    statuses.put(id, new Status(id, s.function(), State.RUNNING, accepted, null, null, null, null,
        null, null, s.sealed()));
    Duration timeout = s.timeout() == null ? defaultTimeout : s.timeout();
    InvocationRequest req = s.sealed()
        ? InvocationRequest.sealed(s.function(), s.version(), s.payload(), s.targetTd(),
            accepted.plus(timeout), id, s.traceId())
        : new InvocationRequest(s.function(), s.version(), s.payload(), accepted.plus(timeout), id,
            s.traceId(), s.clientContext(), "");
    CompletableFuture<InvocationResult> run;
    try {
      run = invoker.invoke(req);
    } catch (RuntimeException e) {
      run = CompletableFuture.failedFuture(e);
    }
    run.whenComplete((r, err) -> statuses.put(id, finished(id, s.function(), s.sealed(), accepted, r, err)));
    return CompletableFuture.completedFuture(id);
  }

  /**
   * The final status. A sealed invocation that ran keeps the TD's encapsulated response as its
   * result, a function error's too: the error document is inside it, for the caller alone.
   */
  private Status finished(String id, String function, boolean sealed, Instant accepted,
      InvocationResult r, Throwable err) {
    Instant now = clock.instant();
    if (err != null) {
      Throwable cause = err instanceof CompletionException && err.getCause() != null
          ? err.getCause() : err;
      JsonObject e = new JsonObject().put("message", String.valueOf(cause.getMessage()));
      e.put("reason", cause instanceof InvocationRejectedException rej
          ? rej.reason().name() : "INTERNAL");
      return new Status(id, function, State.REJECTED, accepted, now, null, e.encode(), null, null,
          null, sealed);
    }
    byte[] sealedResponse = sealed && r.sealed() ? r.sealedResponse() : null;
    if (r.succeeded()) {
      return new Status(id, function, State.SUCCEEDED, accepted, now,
          sealed ? sealedResponse : r.payload(), null, r.tdId(), r.imageId(), Receipts.of(r), sealed);
    }
    return new Status(id, function, State.FAILED, accepted, now, sealedResponse,
        Problem.functionError(r.error()).encode(), r.tdId(), r.imageId(), Receipts.of(r), sealed);
  }

  @Override
  public CompletableFuture<Optional<Status>> lookup(String invocationId) {
    expire();
    return CompletableFuture.completedFuture(Optional.ofNullable(statuses.getIfPresent(invocationId)));
  }

  private void expire() {
    Instant cutoff = clock.instant().minus(retention);
    statuses.asMap().values().removeIf(s -> s.finishedAt() != null && s.finishedAt().isBefore(cutoff));
  }

  /** A status's share of {@link #MAX_STATUS_BYTES}: its bytes and a little for the rest. */
  static int weight(Status s) {
    long w = 256L + (s.result() == null ? 0 : s.result().length) + (s.error() == null ? 0 : s.error().length())
        + (s.receipt() == null ? 0 : s.receipt().length());
    return (int) Math.min(Integer.MAX_VALUE, w);
  }

  @Override
  public void close() {
    closed = true;
  }
}
