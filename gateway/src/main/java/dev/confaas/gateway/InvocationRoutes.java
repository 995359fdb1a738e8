package dev.confaas.gateway;

import dev.confaas.scheduler.DeployedFunction;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The invocation routes: synchronous invoke, async submit and status. Hands each event to the
 * {@link FunctionInvoker} and maps the outcome to a status or a {@link Problem} (see {@link
 * Problems} and the README); never blocks the event loop.
 */
final class InvocationRoutes {
  static final String REQUEST_ID = Problem.REQUEST_ID;
  static final String TD_ID = "X-Confaas-Td-Id";
  static final String IMAGE_ID = "X-Confaas-Image-Id";
  static final String TIMEOUT_MS = "X-Confaas-Timeout-Ms";
  static final long MAX_TIMEOUT_MS = FunctionConfig.MAX_TIMEOUT_MS + 60_000;

  private final GatewayConfig config;
  private final FunctionInvoker invoker;
  private final FunctionRegistry registry;
  private final AsyncInvocations async;
  private final MeterRegistry meters;
  private final Auth auth;
  private final InFlight inFlight;

  InvocationRoutes(GatewayConfig config, FunctionInvoker invoker, FunctionRegistry registry,
      AsyncInvocations async, MeterRegistry meters, Auth auth, InFlight inFlight) {
    this.config = config;
    this.invoker = invoker;
    this.registry = registry;
    this.async = async;
    this.meters = meters;
    this.auth = auth;
    this.inFlight = inFlight;
  }

  /**
   * How long the caller waits: its own timeout, else the function's plus queueing time.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code X-Confaas-Timeout-Ms}
   */
  private Duration timeout(RoutingContext ctx, String name, String version) {
    String h = ctx.request().getHeader(TIMEOUT_MS);
    if (h != null) {
      long ms;
      try {
        ms = Long.parseLong(h.strip());
      } catch (NumberFormatException e) {
        ms = -1;
      }
      if (ms < 1 || ms > MAX_TIMEOUT_MS) {
        throw new IllegalArgumentException(TIMEOUT_MS + " is \"" + h + "\"; it must be a"
            + " whole number of milliseconds between 1 and " + MAX_TIMEOUT_MS);
      }
      return Duration.ofMillis(ms);
    }
    Optional<DeployedFunction> fn = registry.resolve(name, version);
    return fn.map(DeployedFunction::timeout)
        .orElse(Duration.ofMillis(FunctionConfig.DEFAULT_TIMEOUT_MS))
        .plus(config.queueAllowance());
  }

  /**
   * The {@code function} tag of an invocation's meters: its name, except for names the platform
   * does not know, which share one series so random URLs cannot grow the registry without bound.
   */
  private static String metricName(String name, Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    return cause instanceof InvocationRejectedException rej
        && rej.reason() == InvocationRejectedException.Reason.NOT_FOUND ? "_unknown" : name;
  }

  void invoke(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String version = ctx.queryParams().get("version");
    String requestId = Problem.requestId(ctx);
    HttpServerResponse resp = ctx.response();
    Duration timeout;
    try {
      timeout = timeout(ctx, name, version);
    } catch (IllegalArgumentException e) {
      Problem.of(Problem.Reason.INVALID_TIMEOUT, e.getMessage()).send(ctx);
      return;
    }
    String clientContext;
    try {
      clientContext = ClientContextHeader.decode(ctx.request().getHeader(ClientContextHeader.NAME));
    } catch (IllegalArgumentException e) {
      Problem.of(Problem.Reason.INVALID_CLIENT_CONTEXT, e.getMessage()).send(ctx);
      return;
    }
    String trace = Optional.ofNullable(ctx.request().getHeader("X-Confaas-Trace-Id"))
        .orElse(ctx.request().getHeader("X-Amzn-Trace-Id"));
    boolean sealed = SealedInvocations.isSealed(ctx);
    InvocationRequest req;
    if (sealed) {
      String td = SealedInvocations.targetTd(ctx);
      if (td == null) {
        return;
      }
      // The body is ciphertext only the TD opens; it is passed on, never logged or stored.
      req = InvocationRequest.sealed(name, version, EventBody.of(ctx), td,
          config.clock().instant().plus(timeout), requestId, trace);
    } else {
      req = new InvocationRequest(name, version, EventBody.of(ctx),
          config.clock().instant().plus(timeout), requestId, trace, clientContext, "");
    }
    long start = System.nanoTime();
    inFlight.begin();
    Future<InvocationResult> f;
    try {
      f = Future.fromCompletionStage(invoker.invoke(req), ctx.vertx().getOrCreateContext());
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onComplete(ar -> {
      String fn = metricName(name, ar.cause());
      Future<Void> written;
      if (ar.succeeded()) {
        InvocationResult r = ar.result();
        if (r.tdId() != null) {
          resp.putHeader(TD_ID, r.tdId());
        }
        if (r.imageId() != null) {
          resp.putHeader(IMAGE_ID, r.imageId());
        }
        if (r.hasReceipt()) {
          resp.putHeader(Receipts.HEADER, r.receipt());
        }
        if (sealed && r.sealed()) {
          written = SealedInvocations.answer(ctx, r);
          record(fn, r.succeeded() ? "success" : "function_error",
              r.succeeded() ? null : r.error().kind().name(), start);
        } else if (r.succeeded()) {
          record(fn, "success", null, start);
          written = resp.setStatusCode(200).end(Buffer.buffer(r.payload()));
        } else {
          record(fn, "function_error", r.error().kind().name(), start);
          resp.putHeader("X-Confaas-Function-Error", r.error().kind().name());
          written = Problems.function(name, r).send(ctx);
        }
      } else {
        written = notRun(ctx, ar.cause(), fn, start);
      }
      written.onComplete(x -> inFlight.end());
    });
  }

  private Future<Void> notRun(RoutingContext ctx, Throwable failure, String fn, long start) {
    Problem p = Problems.notRun(failure);
    boolean rejected = p.reason() != Problem.Reason.INTERNAL;
    record(fn, rejected ? "rejected" : "internal", p.reason().name(), start);
    return p.send(ctx);
  }

  private void record(String function, String outcome, String kind, long start) {
    Counter.builder("confaas.invocations")
        .description("invocations answered by the gateway")
        .tag("function", function).tag("outcome", outcome).register(meters).increment();
    if (kind != null) {
      Counter.builder("confaas.invocation.errors")
          .description("invocations that did not produce a response, by kind or rejection reason")
          .tag("function", function).tag("kind", kind).register(meters).increment();
    }
    Timer.builder("confaas.invocation.duration")
        .description("time from receiving an invocation to its outcome")
        .tag("function", function).tag("outcome", outcome)
        .publishPercentileHistogram()
        .register(meters)
        .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
  }

  void invokeAsync(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    boolean sealed = SealedInvocations.isSealed(ctx);
    String targetTd = null;
    if (sealed) {
      targetTd = SealedInvocations.targetTd(ctx);
      if (targetTd == null) {
        return;
      }
    }
    String version = ctx.queryParams().get("version");
    Duration timeout;
    try {
      timeout = timeout(ctx, name, version);
    } catch (IllegalArgumentException e) {
      Problem.of(Problem.Reason.INVALID_TIMEOUT, e.getMessage()).send(ctx);
      return;
    }
    String clientContext;
    try {
      clientContext = ClientContextHeader.decode(ctx.request().getHeader(ClientContextHeader.NAME));
    } catch (IllegalArgumentException e) {
      Problem.of(Problem.Reason.INVALID_CLIENT_CONTEXT, e.getMessage()).send(ctx);
      return;
    }
    byte[] payload = EventBody.of(ctx);
    String trace = Optional.ofNullable(ctx.request().getHeader("X-Confaas-Trace-Id"))
        .orElse(ctx.request().getHeader("X-Amzn-Trace-Id"));
    inFlight.begin();
    Future<String> f;
    try {
      // submit() never blocks (the Kafka store writes on its own threads), so this stays on the loop.
      // A sealed request is stored as it came: ciphertext only the TD it names can open.
      f = Future.fromCompletionStage(async.submit(new AsyncInvocations.Submission(
          name, version, payload, timeout, trace, sealed ? "" : clientContext, targetTd, sealed)),
          ctx.vertx().getOrCreateContext());
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    long start = System.nanoTime();
    f.onComplete(ar -> {
      Future<Void> written;
      Throwable cause = ar.failed() && ar.cause() instanceof CompletionException
          && ar.cause().getCause() != null ? ar.cause().getCause() : ar.cause();
      if (ar.succeeded()) {
        String id = ar.result();
        written = ctx.response().setStatusCode(202)
            .putHeader("Location", "/v1/invocations/" + id)
            .putHeader(REQUEST_ID, id)
            .putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("invocationId", id).encode());
      } else if (cause instanceof InvocationRejectedException) {
        written = notRun(ctx, cause, metricName(name, cause), start);
      } else if (cause instanceof IllegalArgumentException) {
        written = Problem.of(Problem.Reason.BODY_TOO_LARGE, cause.getMessage()).send(ctx);
      } else {
        written = Problem.of(Problem.Reason.UNAVAILABLE, "the invocation could not be stored, so"
                + " it was not accepted: " + cause.getMessage() + "; try again")
            .retryAfter(Duration.ofSeconds(1)).send(ctx);
      }
      written.onComplete(x -> inFlight.end());
    });
  }

  void invocationStatus(RoutingContext ctx) {
    withStatus(ctx, ctx.pathParam("id"), s -> Gateway.json(ctx, 200, statusJson(s)));
  }

  /** Looks the invocation up off the loop and hands its status to {@code then}, once the caller may see it. */
  private void withStatus(RoutingContext ctx, String id,
      java.util.function.Consumer<AsyncInvocations.Status> then) {
    Future<Optional<AsyncInvocations.Status>> lookup;
    try {
      lookup = Future.fromCompletionStage(async.lookup(id), ctx.vertx().getOrCreateContext());
    } catch (RuntimeException e) {
      lookup = Future.failedFuture(e);
    }
    lookup.onComplete(ar -> {
      if (ar.failed()) {
        Throwable cause = ar.cause() instanceof CompletionException && ar.cause().getCause() != null
            ? ar.cause().getCause() : ar.cause();
        Problem.of(Problem.Reason.UNAVAILABLE, "cannot read invocation " + id + " now: "
            + cause.getMessage()).retryAfter(Duration.ofSeconds(1)).send(ctx);
        return;
      }
      Optional<AsyncInvocations.Status> st = ar.result();
      if (st.isEmpty()) {
        Problem.of(Problem.Reason.NOT_FOUND, "no invocation " + id
            + " (unknown, or its result has expired)").send(ctx);
        return;
      }
      AsyncInvocations.Status s = st.get();
      if (!auth.mayInvoke(ctx, s.function())) {
        Auth.unauthorized(ctx, "invocation " + id + " belongs to function \"" + s.function()
            + "\", which needs its invoke token");
        return;
      }
      then.accept(s);
    });
  }

  /**
   * {@code GET /v1/invocations/{id}/result}: the result's bytes as they are, for a sealed invocation
   * the TD's encapsulated response ({@value SealedInvocations#RESPONSE_TYPE}, also when the
   * function failed: its error is inside); 404 while there is none.
   */
  void invocationResult(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    withStatus(ctx, id, s -> {
      if (s.result() == null) {
        Problem.of(Problem.Reason.NOT_FOUND, "invocation " + id + " has no result"
            + (s.state() != AsyncInvocations.State.QUEUED && s.state() != AsyncInvocations.State.RUNNING ? " (it ended " + s.state() + "; see GET /v1/invocations/"
                + id + " for why)" : " yet (it is " + s.state() + "); poll GET /v1/invocations/" + id))
            .send(ctx);
        return;
      }
      HttpServerResponse resp = ctx.response().setStatusCode(200)
          .putHeader("Content-Type", s.sealed() ? SealedInvocations.RESPONSE_TYPE : "application/octet-stream")
          .putHeader("Cache-Control", "no-store");
      if (s.receipt() != null) {
        resp.putHeader(Receipts.HEADER, s.receipt());
      }
      if (s.state() == AsyncInvocations.State.FAILED) {
        JsonObject e = errorJson(s);
        resp.putHeader("X-Confaas-Function-Error", e.getString("kind", e.getString("reason", "FAILED")));
      }
      resp.end(Buffer.buffer(s.result()));
    });
  }

  static JsonObject statusJson(AsyncInvocations.Status s) {
    JsonObject o = new JsonObject()
        .put("invocationId", s.id())
        .put("function", s.function())
        .put("state", s.state().name())
        .put("acceptedAt", str(s.acceptedAt()))
        .put("finishedAt", str(s.finishedAt()))
        .put("tdId", s.tdId())
        .put("imageId", s.imageId());
    if (s.receipt() != null) {
      o.put("receipt", s.receipt());
    }
    if (s.sealed()) {
      o.put("sealed", true);
    }
    if (s.result() != null && s.sealed()) {
      // Ciphertext: always base64, even when its bytes happen to be UTF-8.
      o.put("result", Base64.getEncoder().encodeToString(s.result()));
      o.put("resultEncoding", "base64");
    } else if (s.result() != null) {
      try {
        o.put("result", StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(s.result())).toString());
        o.put("resultEncoding", "utf-8");
      } catch (CharacterCodingException notText) {
        o.put("result", Base64.getEncoder().encodeToString(s.result()));
        o.put("resultEncoding", "base64");
      }
    }
    if (s.error() != null) {
      o.put("error", errorJson(s));
    }
    return o;
  }

  private static JsonObject errorJson(AsyncInvocations.Status s) {
    if (s.error() == null) {
      return new JsonObject();
    }
    try {
      return new JsonObject(s.error());
    } catch (RuntimeException notJson) {
      return new JsonObject().put("message", s.error());
    }
  }

  private static String str(Instant t) {
    return t == null ? null : t.toString();
  }
}
