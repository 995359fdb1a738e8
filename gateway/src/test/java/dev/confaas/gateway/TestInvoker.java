package dev.confaas.gateway;

import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A stand-in for the scheduler that tests the HTTP layer alone. What it does depends on the
 * function name:
 *
 * <ul>
 *   <li>{@code upper}: answers the event in upper case;
 *   <li>{@code fail-KIND}: the function fails with that {@link FunctionError.Kind} ({@code
 *       HANDLED} with an error document of its own, as the shell runtime posts it);
 *   <li>{@code explode}: the invoker itself throws;
 *   <li>{@code reject-REASON}: the platform rejects it with that reason (OVERLOADED hints 7 s);
 *   <li>{@code slow}: stays pending until the test completes the future from {@link #pending};
 *   <li>anything else: echoes the event.
 * </ul>
 */
final class TestInvoker implements FunctionInvoker {
  static final String TD = "td-test-1";
  static final String IMAGE = "sha384/" + "a".repeat(96) + "/" + "b".repeat(96);
  static final String HANDLED_DOCUMENT = "{\"errorMessage\":\"it broke: HANDLED\",\"errorType\":"
      + "\"ValueError\",\"stackTrace\":[\"at handler (h.sh:3)\"],\"exitStatus\":3}";

  /** Invocations of {@code slow} not yet answered, with their requests. */
  final BlockingQueue<Pending> pending = new LinkedBlockingQueue<>();
  /** Every request seen, in order. */
  final List<InvocationRequest> seen = new CopyOnWriteArrayList<>();

  record Pending(InvocationRequest request, CompletableFuture<InvocationResult> future) {
    void answer(String body) {
      future.complete(ok(request, body.getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Override
  public CompletableFuture<InvocationResult> invoke(InvocationRequest r) {
    seen.add(r);
    String f = r.function();
    if (f.equals("upper")) {
      return CompletableFuture.completedFuture(ok(r,
          new String(r.payload(), StandardCharsets.UTF_8).toUpperCase(Locale.ROOT)
              .getBytes(StandardCharsets.UTF_8)));
    }
    if (f.startsWith("fail-")) {
      FunctionError.Kind kind = FunctionError.Kind.valueOf(f.substring(5));
      FunctionError e = new FunctionError(kind, kind == FunctionError.Kind.HANDLED
          ? "ValueError" : "Runtime.Exit", "it broke: " + kind, kind == FunctionError.Kind.CRASHED
          ? 137 : -1, kind == FunctionError.Kind.HANDLED ? HANDLED_DOCUMENT : "");
      return CompletableFuture.completedFuture(
          new InvocationResult(r.requestId(), null, e, TD, IMAGE, "inst-1", Duration.ofMillis(3)));
    }
    if (f.startsWith("reject-")) {
      InvocationRejectedException.Reason reason =
          InvocationRejectedException.Reason.valueOf(f.substring(7));
      return CompletableFuture.failedFuture(new InvocationRejectedException(reason,
          "rejected because " + reason, reason == InvocationRejectedException.Reason.OVERLOADED
              ? Duration.ofSeconds(7) : Duration.ZERO));
    }
    if (f.equals("explode")) {
      throw new IllegalStateException("the invoker's queue is corrupt");
    }
    if (f.equals("slow")) {
      CompletableFuture<InvocationResult> fut = new CompletableFuture<>();
      pending.add(new Pending(r, fut));
      return fut;
    }
    return CompletableFuture.completedFuture(ok(r, r.payload()));
  }

  static InvocationResult ok(InvocationRequest r, byte[] body) {
    return new InvocationResult(r.requestId(), body, null, TD, IMAGE, "inst-1",
        Duration.ofMillis(2));
  }
}
