package dev.confaas.scheduler;

import java.util.concurrent.CompletableFuture;

/**
 * The one door through which an invocation reaches a function, whatever brought it (HTTP, Kafka,
 * async queue). The scheduler implements it; the gateway and the Kafka triggers call it.
 *
 * <p>Never blocks the caller: it returns at once with a future. The future completes with an {@link
 * InvocationResult} whenever the function ran (successfully or not: a function error is a result,
 * not an exception), and completes exceptionally with {@link InvocationRejectedException} when the
 * platform did not run it (unknown function, overloaded, deadline passed in the queue, no TD).
 */
public interface FunctionInvoker {

  CompletableFuture<InvocationResult> invoke(InvocationRequest request);
}
