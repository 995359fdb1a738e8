package dev.confaas.gateway;

import dev.confaas.image.Digest;
import dev.confaas.scheduler.DeployedFunction;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The HTTP gateway: invoke (sync and async), deploy and manage functions, runtimes, TDs, health,
 * readiness and metrics. See {@code gateway/README.md} for the routes, the status mapping and the
 * deploy bundle format.
 *
 * <p>The platform's main composes it from the parts it already has and calls {@link #start()}, then
 * {@link #close()} on shutdown:
 *
 * <pre>{@code
 * Gateway g = new Gateway(config, scheduler, registry, async, pool, meters, () -> pool.ready());
 * int port = g.start();
 * }</pre>
 *
 * <p>Event loops only route and copy bytes: disk, signature checks and hashing run in Vert.x worker
 * threads; invocations never block a thread (the {@link FunctionInvoker} returns a future).
 */
public final class Gateway implements AutoCloseable {
  static final String REQUEST_ID = "X-Confaas-Request-Id";
  static final String TD_ID = "X-Confaas-Td-Id";
  static final String IMAGE_ID = "X-Confaas-Image-Id";
  static final String TIMEOUT_MS = "X-Confaas-Timeout-Ms";
  private static final java.util.regex.Pattern LAYER_NAME =
      java.util.regex.Pattern.compile("(sha[0-9]+)[-: /]([0-9a-f]+)");
  static final long MAX_TIMEOUT_MS = FunctionConfig.MAX_TIMEOUT_MS + 60_000;

  private final GatewayConfig config;
  private final FunctionInvoker invoker;
  private final FunctionRegistry registry;
  private final AsyncInvocations async;
  private final TdDirectory tds;
  private final PrometheusMeterRegistry meters;
  private final BooleanSupplier readiness;
  private final AtomicInteger inflight = new AtomicInteger();
  private final Object drained = new Object();

  private volatile boolean draining;
  private AdminToken adminToken;
  private Vertx vertx;
  private HttpServer server;
  private int port = -1;

  public Gateway(
      GatewayConfig config,
      FunctionInvoker invoker,
      FunctionRegistry registry,
      AsyncInvocations async,
      TdDirectory tds,
      PrometheusMeterRegistry meters,
      BooleanSupplier readiness) {
    this.config = config;
    this.invoker = invoker;
    this.registry = registry;
    this.async = async;
    this.tds = tds;
    this.meters = meters;
    this.readiness = readiness;
    Gauge.builder("confaas.gateway.inflight", inflight, AtomicInteger::get)
        .description("invocations (sync and async submissions) the gateway is handling")
        .register(meters);
  }

  /**
   * Binds the port, writes {@code DATA/gateway.url} and returns the bound port. Blocks until bound.
   *
   * @throws IOException if the port cannot be bound or the data directory written
   */
  public synchronized int start() throws IOException {
    if (vertx != null) {
      throw new IllegalStateException("the gateway is already started");
    }
    Files.createDirectories(config.dataDir());
    adminToken = AdminToken.load(config.dataDir(), config.adminToken());
    vertx = Vertx.vertx();
    Router router;
    try {
      router = router();
    } catch (RuntimeException e) {
      await(vertx.close());
      vertx = null;
      throw e;
    }
    HttpServerOptions opts = new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setIdleTimeout((int) Math.max(1, config.idleTimeout().toSeconds()))
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setMaxHeaderSize(16 * 1024)
        .setMaxInitialLineLength(8 * 1024)
        .setCompressionSupported(false);
    try {
      server = await(vertx.createHttpServer(opts).requestHandler(router).listen());
    } catch (IOException e) {
      await(vertx.close());
      vertx = null;
      throw new IOException("cannot listen on " + config.host() + ":" + config.port() + ": "
          + e.getMessage() + "; pick another port or stop what uses it", e);
    }
    port = server.actualPort();
    writeUrlFile();
    return port;
  }

  /** The bound port; -1 before {@link #start()}. */
  public int port() {
    return port;
  }

  /** The base URL callers use, e.g. {@code http://127.0.0.1:8080}. */
  public URI url() {
    String h = config.host();
    if (h.equals("0.0.0.0") || h.equals("::")) {
      h = "127.0.0.1";
    }
    return URI.create("http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port);
  }

  /** The management token in force (after {@link #start()}). */
  public String adminToken() {
    return adminToken.token();
  }

  /** Whether this start generated the management token (then {@code confaas up} prints it). */
  public boolean adminTokenCreated() {
    return adminToken.created();
  }

  /** The Vert.x instance serving the gateway (after {@link #start()}). */
  public Vertx vertx() {
    return vertx;
  }

  /**
   * Graceful shutdown: new requests get 503, in-flight invocations get up to {@code
   * shutdownGrace} to finish and be answered, then the server and Vert.x close. Blocks; call it
   * from a non-event-loop thread.
   */
  @Override
  public synchronized void close() {
    if (vertx == null) {
      return;
    }
    draining = true;
    long until = System.nanoTime() + config.shutdownGrace().toNanos();
    synchronized (drained) {
      long left;
      while (inflight.get() > 0 && (left = until - System.nanoTime()) > 0) {
        try {
          drained.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    try {
      await(server.close());
    } catch (IOException ignored) {
      // closing anyway
    }
    try {
      await(vertx.close());
    } catch (IOException ignored) {
      // closing anyway
    }
    vertx = null;
  }

  // --- routing ------------------------------------------------------------------------------------

  private Router router() {
    Router r = Router.router(vertx);
    r.route().handler(this::httpMetrics);
    // Liveness answers even while draining: the process is up until it exits.
    r.get("/healthz").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "up")));
    r.route().handler(ctx -> {
      if (draining) {
        ctx.response().putHeader("Connection", "close");
        HttpErrors.send(ctx.response(), 503, "shutting_down", "the gateway is shutting down");
      } else {
        ctx.next();
      }
    });
    Handler<RoutingContext> admin = this::requireAdmin;
    BodyHandler eventBody = BodyHandler.create(false).setBodyLimit(config.maxBodyBytes());
    BodyHandler smallBody = BodyHandler.create(false).setBodyLimit(64 * 1024);
    BodyHandler bundleBody = BodyHandler.create(
            config.dataDir().resolve("tmp").resolve("uploads").toString())
        .setBodyLimit(config.maxDeployBytes())
        .setDeleteUploadedFilesOnEnd(true)
        .setMergeFormAttributes(false);

    // Vert.x wants a route's body handler before its user handlers, so the checks that must come
    // before reading a body (limit note, auth) are routes of their own on the same path.
    String invoke = "/v1/functions/:name/invoke";
    String invokeAsync = "/v1/functions/:name/invoke-async";
    String alias = "/v1/functions/:name/aliases/:alias";
    limit(r.post(invoke), config.maxBodyBytes()).handler(this::requireInvoke);
    r.post(invoke).handler(eventBody).handler(this::invoke);
    limit(r.post(invokeAsync), config.maxBodyBytes()).handler(this::requireInvoke);
    r.post(invokeAsync).handler(eventBody).handler(this::invokeAsync);
    r.get("/v1/invocations/:id").handler(this::invocationStatus);

    limit(r.post("/v1/functions"), config.maxDeployBytes()).handler(admin);
    r.post("/v1/functions").handler(bundleBody).handler(this::deploy);
    r.get("/v1/functions").handler(admin).handler(this::listFunctions);
    r.get("/v1/functions/:name").handler(admin).handler(this::getFunction);
    r.delete("/v1/functions/:name").handler(admin).handler(this::deleteFunction);
    limit(r.put(alias), 64 * 1024).handler(admin);
    r.put(alias).handler(smallBody).handler(this::putAlias);
    r.get("/v1/runtimes").handler(admin).handler(ctx -> json(ctx, 200, config.runtimes().toJson()));
    r.get("/v1/tds").handler(admin).handler(ctx ->
        vertx.executeBlocking((java.util.concurrent.Callable<io.vertx.core.json.JsonArray>) tds::list, false).onComplete(ar -> {
          if (ar.succeeded()) {
            ctx.response().putHeader("Content-Type", "application/json").end(ar.result().encode());
          } else {
            HttpErrors.send(ctx.response(), 500, "internal", "cannot list TDs: "
                + ar.cause().getMessage());
          }
        }));

    r.get("/readyz").handler(ctx -> {
      boolean ready = !draining && readiness.getAsBoolean();
      json(ctx, ready ? 200 : 503, new JsonObject().put("status", ready ? "ready" : "not ready"));
    });
    r.get("/metrics").handler(admin).handler(ctx ->
        vertx.executeBlocking((java.util.concurrent.Callable<String>) meters::scrape, false).onComplete(ar -> ctx.response()
            .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            .end(ar.succeeded() ? ar.result() : "")));

    for (GatewayConfig.Mount m : config.mounts()) {
      Route route = r.route(m.prefix() + "*");
      if (m.adminOnly()) {
        route.handler(admin);
      }
      route.subRouter(m.router().apply(vertx));
    }

    r.errorHandler(404, ctx -> HttpErrors.send(ctx.response(), 404, "no_route",
        "no route " + ctx.request().method() + " " + ctx.request().path()
            + "; see gateway/README.md for the API"));
    r.errorHandler(405, ctx -> HttpErrors.send(ctx.response(), 405, "method",
        "method " + ctx.request().method() + " is not allowed on " + ctx.request().path()));
    r.errorHandler(413, ctx -> {
      Long max = ctx.get("confaas.bodyLimit");
      HttpErrors.send(ctx.response(), 413, "body_too_large", "the request body exceeds the limit"
          + " of " + (max == null ? "?" : max) + " bytes (" + human(max) + ") for "
          + ctx.request().path());
    });
    r.errorHandler(500, ctx -> HttpErrors.send(ctx.response(), 500, "internal",
        "internal error: " + (ctx.failure() == null ? "unknown" : ctx.failure().getMessage())));
    return r;
  }

  private static Route limit(Route route, long bytes) {
    return route.handler(ctx -> {
      ctx.put("confaas.bodyLimit", bytes);
      ctx.next();
    });
  }

  private static String human(Long bytes) {
    if (bytes == null) {
      return "?";
    }
    if (bytes % (1024 * 1024) == 0) {
      return bytes / (1024 * 1024) + " MiB";
    }
    return bytes % 1024 == 0 ? bytes / 1024 + " KiB" : bytes + " B";
  }

  private void httpMetrics(RoutingContext ctx) {
    long start = System.nanoTime();
    ctx.addEndHandler(v -> {
      Route route = ctx.currentRoute();
      String uri = route == null || route.getPath() == null ? "unmatched" : route.getPath();
      if (ctx.response().getStatusCode() == 404 && route != null && route.getPath() == null) {
        uri = "unmatched";
      }
      Timer.builder("http.server.requests")
          .tag("method", ctx.request().method().name())
          .tag("uri", uri)
          .tag("status", Integer.toString(ctx.response().getStatusCode()))
          .register(meters)
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    });
    ctx.next();
  }

  // --- auth ---------------------------------------------------------------------------------------

  private static String bearer(RoutingContext ctx) {
    String h = ctx.request().getHeader("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return h.substring(7).strip();
  }

  private void requireAdmin(RoutingContext ctx) {
    if (adminToken.matches(bearer(ctx))) {
      ctx.next();
    } else {
      unauthorized(ctx, "this route needs the management token: send 'Authorization: Bearer"
          + " <token>' with the token from " + AdminToken.FILE + " in the data directory");
    }
  }

  private boolean mayInvoke(RoutingContext ctx, String function) {
    String presented = bearer(ctx);
    return registry.invokeAllowed(function, presented) || adminToken.matches(presented);
  }

  private void requireInvoke(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (mayInvoke(ctx, name)) {
      ctx.next();
    } else {
      unauthorized(ctx, "function \"" + name + "\" needs its invoke token: send 'Authorization:"
          + " Bearer <token>' with the token its deploy returned");
    }
  }

  private static void unauthorized(RoutingContext ctx, String message) {
    ctx.response().putHeader("WWW-Authenticate", "Bearer");
    HttpErrors.send(ctx.response(), 401, "unauthorized", message);
  }

  // --- invoke -------------------------------------------------------------------------------------

  /** The deadline of an invocation: the caller's timeout, else the function's plus queueing time. */
  private Duration timeout(RoutingContext ctx, String name, String version) throws DeployException {
    String h = ctx.request().getHeader(TIMEOUT_MS);
    if (h != null) {
      long ms;
      try {
        ms = Long.parseLong(h.strip());
      } catch (NumberFormatException e) {
        ms = -1;
      }
      if (ms < 1 || ms > MAX_TIMEOUT_MS) {
        throw new DeployException(400, "timeout", TIMEOUT_MS + " is \"" + h + "\"; it must be a"
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

  private void invoke(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String version = ctx.queryParams().get("version");
    String requestId = UUID.randomUUID().toString();
    HttpServerResponse resp = ctx.response();
    resp.putHeader(REQUEST_ID, requestId);
    Duration timeout;
    try {
      timeout = timeout(ctx, name, version);
    } catch (DeployException e) {
      HttpErrors.send(resp, e.status(), e.code(), e.getMessage());
      return;
    }
    String trace = Optional.ofNullable(ctx.request().getHeader("X-Confaas-Trace-Id"))
        .orElse(ctx.request().getHeader("X-Amzn-Trace-Id"));
    InvocationRequest req = new InvocationRequest(name, version, ctx.body().buffer() == null
        ? new byte[0] : ctx.body().buffer().getBytes(), config.clock().instant().plus(timeout),
        requestId, trace);
    long start = System.nanoTime();
    inflight.incrementAndGet();
    Future<InvocationResult> f;
    try {
      f = Future.fromCompletionStage(invoker.invoke(req), vertx.getOrCreateContext());
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
        if (r.succeeded()) {
          record(fn, "success", null, start);
          written = resp.setStatusCode(200).end(Buffer.buffer(r.payload()));
        } else {
          record(fn, "function_error", r.error().kind().name(), start);
          resp.putHeader("X-Confaas-Function-Error", r.error().kind().name());
          written = resp.setStatusCode(HttpErrors.status(r.error()))
              .putHeader("Content-Type", "application/json")
              .end(new JsonObject().put("error", HttpErrors.functionError(r.error())).encode());
        }
      } else {
        written = reject(resp, ar.cause(), fn, start);
      }
      written.onComplete(x -> done());
    });
  }

  private Future<Void> reject(HttpServerResponse resp, Throwable failure, String fn, long start) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof InvocationRejectedException rej) {
      record(fn, "rejected", rej.reason().name(), start);
      int status = HttpErrors.status(rej.reason());
      if ((status == 429 || status == 503) && !rej.retryAfter().isZero()) {
        resp.putHeader("Retry-After", Long.toString(
            Math.max(1, (rej.retryAfter().toMillis() + 999) / 1000)));
      } else if (status == 429) {
        resp.putHeader("Retry-After", "1");
      }
      return resp.setStatusCode(status).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("error", new JsonObject()
              .put("reason", rej.reason().name())
              .put("message", rej.getMessage())).encode());
    }
    record(fn, "internal", "INTERNAL", start);
    return resp.setStatusCode(500).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", new JsonObject()
            .put("reason", "INTERNAL")
            .put("message", "the platform failed to run the invocation: "
                + cause.getMessage())).encode());
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

  private void done() {
    if (inflight.decrementAndGet() == 0 && draining) {
      synchronized (drained) {
        drained.notifyAll();
      }
    }
  }

  private void invokeAsync(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String version = ctx.queryParams().get("version");
    Duration timeout;
    try {
      timeout = timeout(ctx, name, version);
    } catch (DeployException e) {
      HttpErrors.send(ctx.response(), e.status(), e.code(), e.getMessage());
      return;
    }
    byte[] payload = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    String trace = ctx.request().getHeader("X-Confaas-Trace-Id");
    inflight.incrementAndGet();
    Future<String> f;
    try {
      f = Future.fromCompletionStage(async.submit(new AsyncInvocations.Submission(
          name, version, payload, timeout, trace)), vertx.getOrCreateContext());
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    long start = System.nanoTime();
    f.onComplete(ar -> {
      Future<Void> written;
      if (ar.succeeded()) {
        String id = ar.result();
        written = ctx.response().setStatusCode(202)
            .putHeader("Location", "/v1/invocations/" + id)
            .putHeader(REQUEST_ID, id)
            .putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("invocationId", id).encode());
      } else if (ar.cause() instanceof InvocationRejectedException
          || ar.cause().getCause() instanceof InvocationRejectedException) {
        written = reject(ctx.response(), ar.cause(), metricName(name, ar.cause()), start);
      } else {
        ctx.response().putHeader("Retry-After", "1");
        written = ctx.response().setStatusCode(503).putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("error", new JsonObject()
                .put("reason", "UNAVAILABLE")
                .put("message", "the invocation could not be stored, so it was not accepted: "
                    + ar.cause().getMessage() + "; try again")).encode());
      }
      written.onComplete(x -> done());
    });
  }

  private void invocationStatus(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    vertx.executeBlocking(() -> async.status(id), false).onComplete(ar -> {
      if (ar.failed()) {
        HttpErrors.send(ctx.response(), 500, "internal", "cannot read invocation " + id + ": "
            + ar.cause().getMessage());
        return;
      }
      Optional<AsyncInvocations.Status> st = ar.result();
      if (st.isEmpty()) {
        HttpErrors.send(ctx.response(), 404, "not_found", "no invocation " + id
            + " (unknown, or its result has expired)");
        return;
      }
      AsyncInvocations.Status s = st.get();
      if (!mayInvoke(ctx, s.function())) {
        unauthorized(ctx, "invocation " + id + " belongs to function \"" + s.function()
            + "\", which needs its invoke token");
        return;
      }
      json(ctx, 200, statusJson(s));
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
    if (s.result() != null) {
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
      try {
        o.put("error", new JsonObject(s.error()));
      } catch (RuntimeException notJson) {
        o.put("error", new JsonObject().put("message", s.error()));
      }
    }
    return o;
  }

  private static String str(Instant t) {
    return t == null ? null : t.toString();
  }

  // --- manage -------------------------------------------------------------------------------------

  private void deploy(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase().startsWith("multipart/form-data")) {
      HttpErrors.send(ctx.response(), 415, "bundle", "a deploy is multipart/form-data with parts"
          + " config, manifest, signature, certificate and layer (one per uploaded layer); see"
          + " gateway/README.md");
      return;
    }
    List<FileUpload> uploads = new ArrayList<>(ctx.fileUploads());
    String configField = ctx.request().getFormAttribute("config");
    vertx.executeBlocking(() -> {
      String configJson = configField;
      byte[] manifest = null;
      byte[] signature = null;
      byte[] certificate = null;
      List<FunctionRegistry.UploadedLayer> layers = new ArrayList<>();
      for (FileUpload u : uploads) {
        Path file = Path.of(u.uploadedFileName());
        switch (u.name()) {
          case "config" -> configJson = Files.readString(file, StandardCharsets.UTF_8);
          case "manifest" -> manifest = Files.readAllBytes(file);
          case "signature" -> signature = Files.readAllBytes(file);
          case "certificate" -> certificate = Files.readAllBytes(file);
          case "layer" -> layers.add(new FunctionRegistry.UploadedLayer(claimed(u.fileName()), file));
          default -> throw new DeployException(400, "bundle", "unknown part \"" + u.name()
              + "\"; parts are config, manifest, signature, certificate, layer");
        }
      }
      if (configJson == null || manifest == null || signature == null || certificate == null) {
        throw new DeployException(400, "bundle", "the deploy bundle lacks part(s):"
            + (configJson == null ? " config" : "") + (manifest == null ? " manifest" : "")
            + (signature == null ? " signature" : "") + (certificate == null ? " certificate" : ""));
      }
      FunctionConfig cfg = FunctionConfig.parse(configJson);
      return registry.deploy(new FunctionRegistry.DeployRequest(cfg, manifest, signature,
          certificate, layers));
    }, false).onComplete(ar -> {
      if (ar.failed()) {
        manageFailure(ctx, ar.cause());
        return;
      }
      FunctionRegistry.Deployment d = ar.result();
      DeployedFunction fn = d.function();
      JsonObject o = new JsonObject()
          .put("name", fn.name())
          .put("version", fn.version())
          .put("imageId", fn.imageId())
          .put("dependencies", new io.vertx.core.json.JsonArray(new ArrayList<>(fn.dependencies())));
      if (d.invokeToken() != null) {
        o.put("invokeToken", d.invokeToken());
      }
      ctx.response().putHeader("Location", "/v1/functions/" + fn.name());
      json(ctx, 201, o);
    });
  }

  /**
   * A layer part's file name is its digest, {@code sha384-<hex>} ({@code sha384:<hex>} is accepted
   * too, though multipart decoders may mangle the colon).
   */
  private static Digest claimed(String fileName) throws DeployException {
    String s = fileName == null ? "" : fileName.strip();
    java.util.regex.Matcher m = LAYER_NAME.matcher(s);
    try {
      if (m.matches()) {
        return Digest.parse(m.group(1) + "/" + m.group(2));
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw new DeployException(400, "layer", "layer part file name \"" + fileName + "\" is not a"
        + " digest; name each layer part by its digest, sha384-<96 hex digits> (SHA-384 of the"
        + " uncompressed tar)");
  }

  private void manageFailure(RoutingContext ctx, Throwable cause) {
    if (cause instanceof DeployException e) {
      HttpErrors.send(ctx.response(), e.status(), e.code(), e.getMessage());
    } else if (cause instanceof IOException) {
      HttpErrors.send(ctx.response(), 500, "storage", "the gateway could not read or write its"
          + " data directory: " + cause.getMessage());
    } else {
      HttpErrors.send(ctx.response(), 500, "internal", "internal error: " + cause);
    }
  }

  private void listFunctions(RoutingContext ctx) {
    io.vertx.core.json.JsonArray a = new io.vertx.core.json.JsonArray();
    for (FunctionRegistry.FunctionInfo f : registry.list()) {
      a.add(f.toJson());
    }
    ctx.response().putHeader("Content-Type", "application/json").end(a.encode());
  }

  private void getFunction(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Optional<FunctionRegistry.FunctionInfo> f = registry.get(name);
    if (f.isEmpty()) {
      HttpErrors.send(ctx.response(), 404, "not_found", "no function named \"" + name + "\"");
    } else {
      json(ctx, 200, f.get().toJson());
    }
  }

  private void deleteFunction(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    vertx.executeBlocking(() -> registry.delete(name), false).onComplete(ar -> {
      if (ar.failed()) {
        manageFailure(ctx, ar.cause());
      } else if (!ar.result()) {
        HttpErrors.send(ctx.response(), 404, "not_found", "no function named \"" + name + "\"");
      } else {
        json(ctx, 200, new JsonObject().put("deleted", name));
      }
    });
  }

  private void putAlias(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String alias = ctx.pathParam("alias");
    Integer version;
    try {
      version = ctx.body().asJsonObject().getInteger("version");
    } catch (RuntimeException e) {
      version = null;
    }
    if (version == null) {
      HttpErrors.send(ctx.response(), 400, "alias", "send {\"version\": N} to point alias \""
          + alias + "\" at version N");
      return;
    }
    int v = version;
    vertx.executeBlocking(() -> registry.setAlias(name, alias, v), false).onComplete(ar -> {
      if (ar.failed()) {
        manageFailure(ctx, ar.cause());
      } else {
        json(ctx, 200, ar.result().toJson());
      }
    });
  }

  // --- helpers ------------------------------------------------------------------------------------

  private static void json(RoutingContext ctx, int status, JsonObject o) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(o.encode());
  }

  private void writeUrlFile() throws IOException {
    Path dest = config.dataDir().resolve("gateway.url");
    Path part = config.dataDir().resolve(".gateway.url.part");
    Files.writeString(part, url() + "\n", StandardCharsets.UTF_8);
    Files.move(part, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static <T> T await(Future<T> f) throws IOException {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("timed out", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
