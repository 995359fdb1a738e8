package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.InvocationRejectedException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The invocation API over real HTTP, with a test invoker standing in for the scheduler. */
class GatewayInvokeTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);

  @TempDir Path data;
  TestInvoker invoker;
  PrometheusMeterRegistry meters;
  AtomicBoolean ready;
  Gateway gateway;
  Http http;
  Http anonymous;

  @BeforeEach
  void start() throws IOException {
    invoker = new TestInvoker();
    meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ready = new AtomicBoolean(true);
    GatewayConfig config = GatewayConfig.builder(data)
        .clock(CLOCK)
        .maxBodyBytes(64 * 1024)
        .shutdownGrace(Duration.ofSeconds(30))
        .mount("/v1/triggers", vertx -> {
          Router r = Router.router(vertx);
          r.get("/").handler(ctx -> ctx.response().end("[\"orders\"]"));
          r.get("/boom").handler(ctx -> {
            throw new IllegalStateException("the trigger store is corrupt");
          });
          r.post("/small").handler(BodyHandler.create(false).setBodyLimit(16))
              .handler(ctx -> ctx.response().end());
          r.post("/json").handler(BodyHandler.create(false))
              .handler(ctx -> ctx.json(ctx.body().asJsonObject()));
          return r;
        })
        .build();
    gateway = new Gateway(config, invoker, FunctionRegistry.open(data, CLOCK),
        new InMemoryAsyncInvocations(invoker, CLOCK, Duration.ofHours(1), Duration.ofMinutes(1)),
        () -> new JsonArray().add(new JsonObject().put("tdId", TestInvoker.TD)), meters,
        ready::get);
    gateway.start();
    http = new Http(gateway.url(), gateway.adminToken());
    anonymous = http.withToken(null);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  void invokeAnswersWithTheFunctionsBodyAndWhereItRan() {
    HttpResponse<String> r = anonymous.post("/v1/functions/upper/invoke", "hello, td");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("HELLO, TD", r.body());
    assertEquals(TestInvoker.TD, r.headers().firstValue("X-Confaas-Td-Id").orElse(null));
    assertEquals(TestInvoker.IMAGE, r.headers().firstValue("X-Confaas-Image-Id").orElse(null));
    String requestId = r.headers().firstValue("X-Confaas-Request-Id").orElseThrow();
    assertEquals(requestId, invoker.seen.get(0).requestId(),
        "the function saw the same request ID");
  }

  @Test
  void theEventReachesTheFunctionUnchangedWhateverItsContentType() {
    // curl -d sends application/x-www-form-urlencoded; the gateway must not parse it as a form.
    for (String type : new String[] {"application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/json"}) {
      String event = type.startsWith("multipart") ? "--x\r\nnot really\r\n--x--\r\n"
          : "{\"a\":1}&b=2";
      HttpResponse<String> r = anonymous.send(anonymous.request("/v1/functions/echo/invoke")
          .header("Content-Type", type)
          .POST(HttpRequest.BodyPublishers.ofString(event)).build());
      assertEquals(200, r.statusCode(), type + ": " + r.body());
      assertEquals(event, r.body(), type);
    }
  }

  @Test
  void versionAndTimeoutReachTheInvoker() {
    HttpResponse<String> r = anonymous.send(anonymous.request("/v1/functions/echo/invoke?version=3")
        .header("X-Confaas-Timeout-Ms", "2500")
        .POST(HttpRequest.BodyPublishers.ofString("x")).build());
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("3", invoker.seen.get(0).version());
    assertEquals(CLOCK.instant().plusMillis(2500), invoker.seen.get(0).deadline());

    HttpResponse<String> bad = anonymous.send(anonymous.request("/v1/functions/echo/invoke")
        .header("X-Confaas-Timeout-Ms", "soon").POST(HttpRequest.BodyPublishers.noBody()).build());
    JsonObject p = ProblemAssertions.assertProblem(bad, 400, "INVALID_TIMEOUT");
    assertTrue(p.getString("detail").contains("X-Confaas-Timeout-Ms"), bad.body());
  }

  /** Lambda's Invoke API header reaches the function as its client context, on one line. */
  @Test
  void xAmzClientContextIsDecodedForTheFunctionAndRefusedWhenMalformed() {
    String json = "{\n  \"custom\": {\"tenant\": \"t1\"},\n  \"env\": {\"locale\": \"en\"}\n}";
    HttpResponse<String> r = anonymous.send(anonymous.request("/v1/functions/echo/invoke")
        .header("X-Amz-Client-Context",
            java.util.Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8)))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build());
    assertEquals(200, r.statusCode(), r.body());
    dev.confaas.scheduler.InvocationRequest seen = invoker.seen.get(invoker.seen.size() - 1);
    assertEquals("{\"custom\":{\"tenant\":\"t1\"},\"env\":{\"locale\":\"en\"}}", seen.clientContext());

    HttpResponse<String> none = anonymous.post("/v1/functions/echo/invoke", "y");
    assertEquals(200, none.statusCode());
    assertEquals("", invoker.seen.get(invoker.seen.size() - 1).clientContext());

    for (String bad : java.util.List.of("not base64!",
        java.util.Base64.getEncoder().encodeToString("[1,2]".getBytes(StandardCharsets.UTF_8)),
        "A".repeat(3584))) {
      HttpResponse<String> refused = anonymous.send(anonymous.request("/v1/functions/echo/invoke")
          .header("X-Amz-Client-Context", bad).POST(HttpRequest.BodyPublishers.ofString("z")).build());
      assertEquals(400, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("X-Amz-Client-Context"), refused.body());
    }
  }

  @Test
  void functionErrorsAre502AndTimeoutsAre504() {
    HttpResponse<String> r = anonymous.post("/v1/functions/fail-HANDLED/invoke", "{}");
    JsonObject p = ProblemAssertions.assertProblem(r, 502, "HANDLED");
    assertEquals("https://confaas.dev/problems/function-error", p.getString("type"));
    assertEquals("function \"fail-HANDLED\": it broke: HANDLED", p.getString("detail"));
    assertEquals(TestInvoker.TD, p.getString("tdId"), "a failed invocation still says where it ran");
    assertEquals(TestInvoker.IMAGE, p.getString("imageId"));
    assertEquals(TestInvoker.TD, r.headers().firstValue("X-Confaas-Td-Id").orElse(null));
    assertEquals("HANDLED", r.headers().firstValue("X-Confaas-Function-Error").orElse(null));
    // The function's own document, as Lambda returns it, with the kind added.
    JsonObject e = p.getJsonObject("functionError");
    assertEquals(new JsonObject(TestInvoker.HANDLED_DOCUMENT).put("kind", "HANDLED"), e);
    assertEquals(3, e.getInteger("exitStatus"), "the handler's exit status: " + e);

    JsonObject crashed = ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/fail-CRASHED/invoke", "{}"), 502, "CRASHED");
    assertEquals(new JsonObject().put("errorMessage", "it broke: CRASHED")
        .put("errorType", "Runtime.Exit").put("kind", "CRASHED").put("exitStatus", 137),
        crashed.getJsonObject("functionError"));
    JsonObject timedOut = ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/fail-TIMED_OUT/invoke", "{}"), 504, "TIMED_OUT");
    assertFalse(timedOut.getJsonObject("functionError").containsKey("exitStatus"),
        "no exit status when the process has not ended: " + timedOut.encode());
    JsonObject lost = ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/fail-TD_LOST/invoke", "{}"), 502, "TD_LOST");
    assertEquals("https://confaas.dev/problems/td-lost", lost.getString("type"));
    ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/fail-INIT_FAILED/invoke", "{}"), 502, "INIT_FAILED");
    ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/fail-RESPONSE_TOO_LARGE/invoke", "{}"), 502,
        "RESPONSE_TOO_LARGE");
  }

  @Test
  void theRequestIdOfAProblemIsTheOneTheFunctionSaw() {
    HttpResponse<String> r = anonymous.post("/v1/functions/fail-HANDLED/invoke", "{}");
    JsonObject p = ProblemAssertions.assertProblem(r, 502, "HANDLED");
    assertEquals(invoker.seen.get(0).requestId(), p.getString("requestId"));
  }

  @Test
  void anInvokerThatThrowsIsAnInternalProblem() {
    JsonObject p = ProblemAssertions.assertProblem(
        anonymous.post("/v1/functions/explode/invoke", "x"), 500, "INTERNAL");
    assertTrue(p.getString("detail").contains("the invoker's queue is corrupt"), p.encode());
  }

  @Test
  void rejectionsMapToTheirStatus() {
    Map<InvocationRejectedException.Reason, Integer> expected = Map.of(
        InvocationRejectedException.Reason.NOT_FOUND, 404,
        InvocationRejectedException.Reason.OVERLOADED, 429,
        InvocationRejectedException.Reason.DEADLINE_EXCEEDED, 504,
        InvocationRejectedException.Reason.UNAVAILABLE, 503,
        InvocationRejectedException.Reason.SHUTTING_DOWN, 503);
    for (Map.Entry<InvocationRejectedException.Reason, Integer> e : expected.entrySet()) {
      HttpResponse<String> r = anonymous.post("/v1/functions/reject-" + e.getKey() + "/invoke", "");
      JsonObject p = ProblemAssertions.assertProblem(r, e.getValue(), e.getKey().name());
      assertEquals("rejected because " + e.getKey(), p.getString("detail"));
      assertFalse(p.containsKey("functionError"), "the function never ran: " + p.encode());
    }
    HttpResponse<String> overloaded = anonymous.post("/v1/functions/reject-OVERLOADED/invoke", "");
    assertEquals("https://confaas.dev/problems/overloaded",
        new JsonObject(overloaded.body()).getString("type"));
    assertEquals("7", overloaded.headers().firstValue("Retry-After").orElse(null));
  }

  @Test
  void oversizedEventIs413NamingTheLimit() {
    byte[] big = new byte[64 * 1024 + 1];
    HttpResponse<String> r = anonymous.post("/v1/functions/echo/invoke", big);
    JsonObject p = ProblemAssertions.assertProblem(r, 413, "BODY_TOO_LARGE");
    assertTrue(p.getString("detail").contains("65536 bytes (64 KiB)"), r.body());
    // Without Content-Length (chunked), the limit is enforced while reading.
    HttpResponse<String> chunked = anonymous.send(anonymous.request("/v1/functions/echo/invoke")
        .POST(HttpRequest.BodyPublishers.ofInputStream(
            () -> new java.io.ByteArrayInputStream(big))).build());
    ProblemAssertions.assertProblem(chunked, 413, "BODY_TOO_LARGE");
    assertTrue(invoker.seen.isEmpty(), "an oversized event must not reach the function");
    assertEquals(200, anonymous.post("/v1/functions/echo/invoke", new byte[64 * 1024])
        .statusCode(), "an event of exactly the limit is accepted");
  }

  @Test
  void managementRoutesNeedTheAdminToken() throws IOException {
    for (String path : new String[] {"/v1/functions", "/v1/tds", "/metrics", "/v1/runtimes",
        "/v1/triggers"}) {
      HttpResponse<String> none = anonymous.get(path);
      JsonObject p = ProblemAssertions.assertProblem(none, 401, "UNAUTHORIZED");
      assertTrue(p.getString("detail").contains("admin.token"), p.encode());
      assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(null));
      ProblemAssertions.assertProblem(http.withToken("not-the-token").get(path), 401,
          "UNAUTHORIZED");
      assertEquals(200, http.get(path).statusCode(), path);
    }
    Path tokenFile = data.resolve("admin.token");
    assertEquals(gateway.adminToken(), Files.readString(tokenFile).strip());
    assertEquals("rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile)));
    assertTrue(gateway.adminTokenCreated());
    assertEquals(gateway.url().toString(), Files.readString(data.resolve("gateway.url")).strip());
    assertEquals(43, gateway.adminToken().length(), "32 bytes, base64url without padding");
  }

  @Test
  void tdsHealthReadinessAndMounts() {
    assertEquals(new JsonArray().add(new JsonObject().put("tdId", TestInvoker.TD)),
        new JsonArray(http.get("/v1/tds").body()));
    assertEquals(200, anonymous.get("/healthz").statusCode());
    assertEquals(200, anonymous.get("/readyz").statusCode());
    ready.set(false);
    assertEquals(503, anonymous.get("/readyz").statusCode());
    assertEquals("[\"orders\"]", http.get("/v1/triggers").body());
    assertEquals(404, http.get("/v1/nothing").statusCode());
  }

  @Test
  void routerLevelFailuresAreProblemsToo() {
    JsonObject noRoute = ProblemAssertions.assertProblem(http.get("/v1/nothing"), 404, "NO_ROUTE");
    assertEquals("https://confaas.dev/problems/no-route", noRoute.getString("type"));
    assertTrue(noRoute.getString("detail").contains("GET /v1/nothing"), noRoute.encode());

    JsonObject method = ProblemAssertions.assertProblem(
        http.delete("/v1/functions/echo/invoke"), 405, "METHOD_NOT_ALLOWED");
    assertTrue(method.getString("detail").contains("DELETE"), method.encode());

    HttpResponse<String> bigAlias = http.send(http.request("/v1/functions/echo/aliases/prod")
        .PUT(HttpRequest.BodyPublishers.ofString("{\"version\":1,\"pad\":\""
            + "x".repeat(70 * 1024) + "\"}")).build());
    JsonObject tooLarge = ProblemAssertions.assertProblem(bigAlias, 413, "BODY_TOO_LARGE");
    assertTrue(tooLarge.getString("detail").contains("65536 bytes (64 KiB)"), tooLarge.encode());

    // Failures inside a mounted router reach the gateway's error handlers.
    JsonObject badJson = ProblemAssertions.assertProblem(http.post("/v1/triggers/json", "{\"a\":"),
        400, "INVALID_JSON");
    assertTrue(badJson.getString("detail").contains("POST /v1/triggers/json"), badJson.encode());
    JsonObject boom = ProblemAssertions.assertProblem(http.get("/v1/triggers/boom"), 500,
        "INTERNAL");
    assertTrue(boom.getString("detail").contains("the trigger store is corrupt"), boom.encode());
    ProblemAssertions.assertProblem(http.post("/v1/triggers/small", "x".repeat(17)), 413,
        "BODY_TOO_LARGE");
  }

  @Test
  void asyncInvocationIsAcceptedThenPolledToCompletion() throws Exception {
    HttpResponse<String> accepted = anonymous.post("/v1/functions/slow/invoke-async", "later");
    assertEquals(202, accepted.statusCode(), accepted.body());
    String id = new JsonObject(accepted.body()).getString("invocationId");
    assertEquals("/v1/invocations/" + id, accepted.headers().firstValue("Location").orElse(null));

    JsonObject running = new JsonObject(anonymous.get("/v1/invocations/" + id).body());
    assertEquals("RUNNING", running.getString("state"));

    TestInvoker.Pending p = invoker.pending.poll(10, TimeUnit.SECONDS);
    assertNotNull(p, "the async invocation never reached the invoker");
    assertEquals("later", new String(p.request().payload(), StandardCharsets.UTF_8));
    p.answer("done: later");

    JsonObject done = new JsonObject(anonymous.get("/v1/invocations/" + id).body());
    assertEquals("SUCCEEDED", done.getString("state"), done.encode());
    assertEquals("done: later", done.getString("result"));
    assertEquals("utf-8", done.getString("resultEncoding"));
    assertEquals(TestInvoker.TD, done.getString("tdId"));
    assertEquals(CLOCK.instant().toString(), done.getString("acceptedAt"));

    HttpResponse<String> failed = anonymous.post("/v1/functions/fail-HANDLED/invoke-async", "");
    String failedId = new JsonObject(failed.body()).getString("invocationId");
    JsonObject f = new JsonObject(anonymous.get("/v1/invocations/" + failedId).body());
    assertEquals("FAILED", f.getString("state"));
    assertEquals(new JsonObject(TestInvoker.HANDLED_DOCUMENT).put("kind", "HANDLED"),
        f.getJsonObject("error"), "the same function error document as a sync call's problem");

    JsonObject unknown = ProblemAssertions.assertProblem(
        anonymous.get("/v1/invocations/no-such-id"), 404, "NOT_FOUND");
    assertTrue(unknown.getString("detail").contains("no-such-id"), unknown.encode());
    ProblemAssertions.assertProblem(anonymous.send(anonymous.request("/v1/functions/slow/"
        + "invoke-async").header("X-Confaas-Timeout-Ms", "0")
        .POST(HttpRequest.BodyPublishers.ofString("x")).build()), 400, "INVALID_TIMEOUT");
    ProblemAssertions.assertProblem(anonymous.post("/v1/functions/slow/invoke-async",
        new byte[64 * 1024 + 1]), 413, "BODY_TOO_LARGE");
  }

  @Test
  void metricsHavePerFunctionSeries() {
    anonymous.post("/v1/functions/upper/invoke", "a");
    anonymous.post("/v1/functions/fail-HANDLED/invoke", "a");
    anonymous.post("/v1/functions/reject-NOT_FOUND/invoke", "a");
    String m = http.get("/metrics").body();
    assertTrue(m.contains("confaas_invocations_total{function=\"upper\",outcome=\"success\"} 1.0"),
        m);
    assertTrue(m.contains(
        "confaas_invocation_errors_total{function=\"fail-HANDLED\",kind=\"HANDLED\"} 1.0"), m);
    assertTrue(m.contains("confaas_invocations_total{function=\"_unknown\",outcome=\"rejected\"}"),
        "unknown names share one series: " + m);
    assertTrue(m.contains("confaas_invocation_duration_seconds_bucket{function=\"upper\""), m);
    assertTrue(m.contains("confaas_gateway_inflight"), m);
    assertTrue(m.contains("http_server_requests_seconds_count{method=\"POST\",status=\"200\","
        + "uri=\"/v1/functions/:name/invoke\"}"), m);
  }

  @Test
  void gracefulShutdownLetsAnInFlightInvocationFinish() throws Exception {
    CompletableFuture<HttpResponse<String>> call =
        anonymous.postAsync("/v1/functions/slow/invoke", "finish me");
    TestInvoker.Pending p = invoker.pending.poll(10, TimeUnit.SECONDS);
    assertNotNull(p, "the invocation never reached the invoker");

    CompletableFuture<Void> closing = CompletableFuture.runAsync(gateway::close);
    // While draining, new requests are turned away and readiness drops.
    HttpResponse<String> probe;
    do {
      probe = anonymous.get("/readyz");
    } while (probe.statusCode() == 200 && !closing.isDone());
    assertEquals(503, probe.statusCode(), probe.body());
    ProblemAssertions.assertProblem(anonymous.post("/v1/functions/echo/invoke", "new"), 503,
        "SHUTTING_DOWN");
    assertEquals(200, anonymous.get("/healthz").statusCode(), "still alive while draining");
    assertFalse(closing.isDone(), "close() must wait for the in-flight invocation");

    p.answer("finished");
    HttpResponse<String> r = call.get(30, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("finished", r.body());
    closing.get(30, TimeUnit.SECONDS);
  }
}
