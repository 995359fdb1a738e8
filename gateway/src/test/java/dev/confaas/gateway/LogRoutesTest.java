package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /v1/functions/NAME/logs} over real HTTP on a real gateway. */
class LogRoutesTest {
  /** A clock the test moves, so {@code ?since} is checked without sleeping. */
  static final class MovableClock extends Clock {
    volatile Instant now = Instant.parse("2026-11-22T07:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @TempDir Path data;
  @TempDir Path work;
  final MovableClock clock = new MovableClock();
  Gateway gateway;
  Http http;
  String secretToken;

  @BeforeEach
  void start() throws Exception {
    FunctionRegistry registry = FunctionRegistry.open(data, Images.CLOCK);
    Images.publishShellRuntime(registry.vendorLayers(), work);
    TestInvoker invoker = new TestInvoker();
    gateway = new Gateway(GatewayConfig.builder(data).clock(clock).build(), invoker, registry,
        new InMemoryAsyncInvocations(invoker, clock, Duration.ofHours(1), Duration.ofMinutes(1)),
        TdDirectory.NONE, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    http = new Http(gateway.url(), gateway.adminToken());
    Images.Function f = Images.function(work, "echo hi\n", Images.shellAlias());
    assertEquals(201, http.deploy(Images.bundle(f, "{\"name\":\"open\"}", true)).statusCode());
    HttpResponse<String> secret =
        http.deploy(Images.bundle(f, "{\"name\":\"secret\",\"invokeAuth\":\"token\"}", true));
    assertEquals(201, secret.statusCode(), secret.body());
    secretToken = new JsonObject(secret.body()).getString("invokeToken");
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  void line(String fn, String request, String text) {
    gateway.logs().append(fn, "1", request, "i-1", "td-1", 2, text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void recentLinesAsTextOrJsonFilteredBySinceAndRequest() {
    line("open", "", "starting");
    line("open", "req-1", "first");
    clock.now = clock.now.plus(Duration.ofMinutes(20));
    line("open", "req-2", "second");

    HttpResponse<String> all = http.get("/v1/functions/open/logs");
    assertEquals(200, all.statusCode(), all.body());
    assertEquals(
        "2026-11-22T07:00:00Z open:1 init i-1@td-1 stderr: starting\n"
            + "2026-11-22T07:00:00Z open:1 req-1 i-1@td-1 stderr: first\n"
            + "2026-11-22T07:20:00Z open:1 req-2 i-1@td-1 stderr: second\n",
        all.body());

    HttpResponse<String> recent = http.get("/v1/functions/open/logs?since=10m&format=json");
    assertEquals("application/x-ndjson", recent.headers().firstValue("Content-Type").orElse(""));
    List<String> lines = recent.body().lines().toList();
    assertEquals(1, lines.size(), recent.body());
    JsonObject o = new JsonObject(lines.get(0));
    assertEquals("second", o.getString("line"));
    assertEquals("req-2", o.getString("requestId"));
    assertEquals("i-1", o.getString("instance"));
    assertEquals("td-1", o.getString("td"));
    assertEquals("1", o.getString("version"));

    HttpResponse<String> since = http.get("/v1/functions/open/logs?since=2026-11-22T07:10:00Z");
    assertTrue(since.body().contains("second") && !since.body().contains("first"), since.body());
    HttpResponse<String> offset = http.get("/v1/functions/open/logs?since=2026-11-22T08:10:00%2B01:00");
    assertTrue(offset.body().contains("second") && !offset.body().contains("first"),
        "an RFC 3339 offset counts: " + offset.body());

    HttpResponse<String> one = http.get("/v1/functions/open/logs?requestId=req-1");
    assertEquals("2026-11-22T07:00:00Z open:1 req-1 i-1@td-1 stderr: first\n", one.body());

    JsonObject bad = ProblemAssertions.assertProblem(
        http.get("/v1/functions/open/logs?since=yesterday"), 400, "BAD_REQUEST");
    assertTrue(bad.getString("detail").contains("RFC 3339"), bad.encode());
    ProblemAssertions.assertProblem(http.get("/v1/functions/nope/logs"), 404, "NOT_FOUND");
  }

  @Test
  void logsNeedTheManagementTokenOrTheFunctionsOwnInvokeToken() {
    line("secret", "r", "s3cr3t");
    line("open", "r", "visible to admins only");
    ProblemAssertions.assertProblem(
        http.withToken(null).get("/v1/functions/open/logs"), 401, "UNAUTHORIZED");
    ProblemAssertions.assertProblem(
        http.withToken(null).get("/v1/functions/secret/logs"), 401, "UNAUTHORIZED");
    ProblemAssertions.assertProblem(
        http.withToken(secretToken).get("/v1/functions/open/logs"), 401, "UNAUTHORIZED");
    HttpResponse<String> own = http.withToken(secretToken).get("/v1/functions/secret/logs");
    assertEquals(200, own.statusCode(), own.body());
    assertTrue(own.body().contains("s3cr3t"), own.body());
  }

  @Test
  void followStreamsNewLinesAndEndsWhenTheFunctionIsDeleted() throws Exception {
    line("open", "req-1", "already there");
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    HttpClient client = HttpClient.newHttpClient();
    HttpResponse<Stream<String>> r = client.send(
        http.request("/v1/functions/open/logs?follow=true&format=json").GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, r.statusCode());
    CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
      Iterator<String> it = r.body().iterator();
      while (it.hasNext()) {
        received.add(it.next());
      }
      received.add("<end>");
    });
    assertEquals("already there", new JsonObject(next(received)).getString("line"));

    line("open", "req-2", "new one");
    line("open", "req-3", "not wanted by a requestId filter, but by this follower");
    assertEquals("new one", new JsonObject(next(received)).getString("line"));
    assertEquals("req-3", new JsonObject(next(received)).getString("requestId"));

    assertEquals(200, http.delete("/v1/functions/open").statusCode());
    JsonObject note = new JsonObject(next(received));
    assertTrue(note.getString("note").contains("deleted"), note.encode());
    assertEquals("<end>", next(received), "the response ends with the function");
    reader.get(10, TimeUnit.SECONDS);
    assertEquals(0, gateway.logs().recent("open", FunctionLogs.Filter.ALL).size());
    ProblemAssertions.assertProblem(http.get("/v1/functions/open/logs"), 404, "NOT_FOUND");
  }

  @Test
  void followWithARequestFilterSendsOnlyThatRequest() throws Exception {
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    HttpResponse<Stream<String>> r = HttpClient.newHttpClient().send(
        http.request("/v1/functions/open/logs?follow=1&requestId=req-9").GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    assertEquals("text/plain; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
    CompletableFuture.runAsync(() -> r.body().forEach(received::add));
    line("open", "req-8", "other");
    line("open", "req-9", "mine");
    String got = next(received);
    assertTrue(got.endsWith("req-9 i-1@td-1 stderr: mine"), got);
    r.body().close();
  }

  private static String next(LinkedBlockingQueue<String> q) throws InterruptedException {
    String s;
    do {
      s = q.poll(10, TimeUnit.SECONDS);
      assertNotNull(s, "no line within 10 s");
    } while (s.isBlank()); // keep-alives
    return s;
  }
}
