package dev.confaas.gateway;

import dev.confaas.image.ImageRepository;
import dev.confaas.scheduler.FunctionInvoker;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Gateway.class);
  /** The routing-context key of the body limit in force, so a 413 can name it. */
  static final String BODY_LIMIT = "confaas.bodyLimit";

  private final GatewayConfig config;
  private final FunctionInvoker invoker;
  private final FunctionRegistry registry;
  private final AsyncInvocations async;
  private final TdDirectory tds;
  private final PrometheusMeterRegistry meters;
  private final BooleanSupplier readiness;
  private final InFlight inFlight = new InFlight();
  private final FunctionLogs logs;

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
    this.logs = new FunctionLogs(config.clock(), n -> registry.get(n).isPresent(),
        FunctionLogs.DEFAULT_MAX_LINES, FunctionLogs.DEFAULT_MAX_CHARS);
    registry.onDeleted(logs::remove);
    Gauge.builder("confaas.gateway.inflight", inFlight, InFlight::count)
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
    vertx.exceptionHandler(Disconnects::uncaught);
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
        .setCompressionSupported(false)
        // With h2c on, Vert.x makes a connection only once its first bytes tell HTTP/1 from
        // HTTP/2, so a client that sends nothing would never reach the ConnectionGate.
        .setHttp2ClearTextEnabled(false);
    ConnectionGate gate = new ConnectionGate(config.connections(), vertx, config.clock(), meters);
    Router routes = router;
    try {
      server = await(vertx.createHttpServer(opts)
          .connectionHandler(gate)
          .requestHandler(req -> {
            gate.requestArrived(req);
            routes.handle(req);
          })
          .listen());
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

  /** Functions' recent output lines, served at {@code /v1/functions/NAME/logs}; feed it lines. */
  public FunctionLogs logs() {
    return logs;
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
    inFlight.awaitIdle(config.shutdownGrace());
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

  // --- routing -----------------------------------------------------------------------------------

  /**
   * Deletes deploy uploads a previous run left when it was killed mid-upload (Vert.x deletes them
   * only when a request ends). Runs once, while the router is built, before the server listens.
   */
  private static void sweepStaleUploads(Path uploads) {
    try {
      int n = ImageRepository.deleteStaleFiles(uploads, ImageRepository.STALE_TEMP_AGE, Clock.systemUTC());
      if (n > 0) {
        log.info("deleted {} stale deploy upload(s) under {}", n, uploads);
      }
    } catch (IOException e) {
      log.warn("could not sweep stale deploy uploads under {}: {}", uploads, e.toString());
    }
  }

  private Router router() {
    Router r = Router.router(vertx);
    r.route().handler(this::httpMetrics);
    // Failures first: a client that went away ends quietly, anything else becomes a problem.
    r.route().failureHandler(Disconnects::routeFailure);
    // Liveness answers even while draining: the process is up until it exits.
    r.get("/healthz")
        .handler(ctx -> json(ctx, 200, new JsonObject().put("status", "up")));
    r.route().handler(ctx -> {
      if (draining) {
        ctx.response().putHeader("Connection", "close");
        Problem.of(Problem.Reason.SHUTTING_DOWN, "the gateway is shutting down; retry against"
            + " another gateway or after it has restarted").send(ctx);
      } else {
        ctx.next();
      }
    });
    Auth auth = new Auth(adminToken, registry);
    InvocationRoutes invocations =
        new InvocationRoutes(config, invoker, registry, async, meters, auth, inFlight);
    ManagementRoutes management = new ManagementRoutes(registry);
    Handler<RoutingContext> admin = auth::requireAdmin;
    EventBody eventBody = new EventBody(config.maxBodyBytes());
    BodyHandler smallBody = BodyHandler.create(false).setBodyLimit(64 * 1024);
    Path uploads = config.dataDir().resolve("tmp").resolve("uploads");
    sweepStaleUploads(uploads);
    BodyHandler bundleBody = BodyHandler.create(uploads.toString())
        .setBodyLimit(config.maxDeployBytes())
        .setDeleteUploadedFilesOnEnd(true)
        .setMergeFormAttributes(false);

    // Vert.x wants a route's body handler before its user handlers, so the checks that must come
    // before reading a body (limit note, auth) are routes of their own on the same path.
    String invoke = "/v1/functions/:name/invoke";
    String invokeAsync = "/v1/functions/:name/invoke-async";
    String alias = "/v1/functions/:name/aliases/:alias";
    limit(r.post(invoke), config.maxBodyBytes()).handler(auth::requireInvoke);
    r.post(invoke).handler(eventBody).handler(invocations::invoke);
    limit(r.post(invokeAsync), config.maxBodyBytes()).handler(auth::requireInvoke);
    r.post(invokeAsync).handler(eventBody).handler(invocations::invokeAsync);
    r.get("/v1/invocations/:id").handler(invocations::invocationStatus);
    r.get("/v1/invocations/:id/result").handler(invocations::invocationResult);
    EvidenceRoutes evidence = new EvidenceRoutes(tds, registry, auth);
    r.get("/v1/tds/:id/evidence").handler(evidence::td);
    r.get("/v1/functions/:name/evidence").handler(evidence::function);

    limit(r.post("/v1/functions"), config.maxDeployBytes()).handler(admin);
    r.post("/v1/functions").handler(bundleBody).handler(management::deploy);
    r.get("/v1/functions").handler(admin).handler(management::listFunctions);
    r.get("/v1/functions/:name").handler(admin).handler(management::getFunction);
    r.delete("/v1/functions/:name").handler(admin).handler(management::deleteFunction);
    LogRoutes logRoutes = new LogRoutes(logs, registry, config.clock(),
        Duration.ofMillis(Math.min(15_000, Math.max(1_000, config.idleTimeout().toMillis() / 2))));
    r.get("/v1/functions/:name/logs").handler(auth::requireLogReader).handler(logRoutes::logs);
    limit(r.put(alias), 64 * 1024).handler(admin);
    r.put(alias).handler(smallBody).handler(management::putAlias);
    r.get("/v1/runtimes").handler(admin)
        .handler(ctx -> json(ctx, 200, config.runtimes().toJson()));
    r.get("/v1/tds").handler(admin).handler(ctx ->
        vertx.executeBlocking((Callable<JsonArray>) tds::list, false).onComplete(ar -> {
          if (ar.succeeded()) {
            ctx.response().putHeader("Content-Type", "application/json").end(ar.result().encode());
          } else {
            Problem.of(Problem.Reason.INTERNAL, "cannot list TDs: " + ar.cause().getMessage())
                .send(ctx);
          }
        }));

    r.get("/readyz").handler(ctx -> {
      boolean ready = !draining && readiness.getAsBoolean();
      json(ctx, ready ? 200 : 503,
          new JsonObject().put("status", ready ? "ready" : "not ready"));
    });
    r.get("/metrics").handler(admin).handler(ctx ->
        vertx.executeBlocking((Callable<String>) meters::scrape, false).onComplete(ar ->
            ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .end(ar.succeeded() ? ar.result() : "")));

    for (GatewayConfig.Mount m : config.mounts()) {
      Route route = r.route(m.prefix() + "*");
      if (m.adminOnly()) {
        route.handler(admin);
      }
      route.subRouter(m.router().apply(vertx));
    }

    for (int status : Problems.ROUTER_STATUSES) {
      r.errorHandler(status, Problems::routerFailure);
    }
    return r;
  }

  private static Route limit(Route route, long bytes) {
    return route.handler(ctx -> {
      ctx.put(BODY_LIMIT, bytes);
      ctx.next();
    });
  }

  static String human(Long bytes) {
    if (bytes == null) {
      return "?";
    }
    if (bytes % (1024 * 1024) == 0) {
      return bytes / (1024 * 1024) + " MiB";
    }
    return bytes % 1024 == 0 ? bytes / 1024 + " KiB" : bytes + " B";
  }

  static void json(RoutingContext ctx, int status, JsonObject o) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(o.encode());
  }

  private void httpMetrics(RoutingContext ctx) {
    Problem.requestId(ctx); // every response names its request
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

  // --- helpers -----------------------------------------------------------------------------------

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
