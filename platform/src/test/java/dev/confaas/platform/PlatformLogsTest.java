package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.gateway.DeployBundle;
import dev.confaas.gateway.RuntimeCatalog;
import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, "logs never reach the author": on the whole platform (real agent processes, simulated
 * TDX), what a handler writes to stderr reaches {@code GET /v1/functions/NAME/logs?follow=true}
 * within moments of the invocation, tagged with the request, instance and TD that produced it.
 * The function is built by {@link FunctionImageBuilder}, as {@code confaas deploy} builds it, so
 * the test also shows the builder shares stdout and stderr by default.
 */
class PlatformLogsTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static PlatformFixture platform;

  @BeforeAll
  static void up() throws Exception {
    platform = PlatformFixture.start(data);
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  /** Builds {@code script} as a shell-runtime function with the platform's builder and deploys it. */
  static void deploy(String name, String script) throws Exception {
    JsonObject shell = platform.shellRuntime();
    Path task = Files.createDirectories(work.resolve(name));
    Path handler = task.resolve("handler.sh");
    Files.writeString(handler, "#!/bin/sh\n" + script + "\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    RuntimeCatalog.Runtime runtime = FunctionImageBuilder.runtime(shell.getString("layer"),
        shell.getJsonArray("entrypoint").stream().map(String::valueOf).toList(),
        shell.getJsonArray("env").stream().map(String::valueOf).toList());
    SigningKeys author = SigningKeys.generate("author", Clock.systemUTC());
    FunctionImageBuilder.Built built = FunctionImageBuilder.build(
        runtime, task, "handler.sh", 2, author.signer(), work.resolve(name + ".tar"));
    assertEquals(List.of(1, 2), built.signed().manifest().logFDs(),
        "the builder shares stdout and stderr (ACON logFDs)");
    DeployBundle bundle = new DeployBundle()
        .config(new JsonObject().put("name", name).encode())
        .manifest(built.signed().manifest().bytes())
        .signature(built.signed().signature())
        .certificate(built.signed().certificateDer())
        .layer(built.layer(), built.layerTar());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    bundle.writeTo(out);
    HttpResponse<String> r = platform.send(platform.request("/v1/functions")
        .header("Content-Type", bundle.contentType())
        .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build());
    assertEquals(201, r.statusCode(), r.body());
  }

  @Test
  void aHandlersStderrReachesAFollowerWithinMomentsOfTheInvocation() throws Exception {
    deploy("chatty", "event=$(cat)\necho \"working on $event\" >&2\necho done");
    // Warm the function up, so the measurement is of log delivery, not of a first start.
    platform.invokeOk("chatty", "warm-up");

    LinkedBlockingQueue<JsonObject> lines = new LinkedBlockingQueue<>();
    HttpResponse<Stream<String>> follow = HttpClient.newHttpClient().send(
        platform.request("/v1/functions/chatty/logs?follow=true&format=json").GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, follow.statusCode());
    CompletableFuture.runAsync(() -> {
      Iterator<String> it = follow.body().iterator();
      while (it.hasNext()) {
        String l = it.next();
        if (!l.isBlank()) {
          lines.add(new JsonObject(l));
        }
      }
    });
    try {
      long sent = System.nanoTime();
      HttpResponse<String> r = platform.invokeOk("chatty", "order-4711");
      long answered = System.nanoTime();
      String requestId = r.headers().firstValue("X-Confaas-Request-Id").orElseThrow();
      JsonObject line = null;
      long seenAt = 0;
      long end = answered + TimeUnit.SECONDS.toNanos(30);
      while (line == null && System.nanoTime() < end) {
        JsonObject l = lines.poll(100, TimeUnit.MILLISECONDS);
        if (l != null && "working on order-4711".equals(l.getString("line"))) {
          line = l;
          seenAt = System.nanoTime();
        }
      }
      assertNotNull(line, "the handler's stderr line never reached the follower");
      double afterAnswerMs = (seenAt - answered) / 1e6;
      double afterSendMs = (seenAt - sent) / 1e6;
      System.out.printf("log line seen %.1f ms after the invocation was answered (%.1f ms after it"
          + " was sent)%n", afterAnswerMs, afterSendMs);
      // The promise is "within a second"; the bound is generous for a loaded test machine.
      assertTrue(afterAnswerMs < 5_000, "the line took " + afterAnswerMs + " ms after the answer");
      assertEquals(requestId, line.getString("requestId"), line.encode());
      assertEquals("chatty", line.getString("function"));
      assertEquals("1", line.getString("version"));
      assertEquals("stderr", line.getString("stream"));
      assertEquals(PlatformFixture.tdOf(r), line.getString("td"), "the TD that ran the request");
      assertTrue(line.getString("instance").startsWith("i-"), line.encode());

      HttpResponse<String> one = platform.get(
          "/v1/functions/chatty/logs?requestId=" + requestId);
      assertTrue(one.body().contains("working on order-4711") && !one.body().contains("warm-up"),
          one.body());
      JsonObject td = platform.td(PlatformFixture.tdOf(r));
      assertEquals("STREAMING", td.getJsonObject("logStream").getString("state"), td.encode());
    } finally {
      follow.body().close();
    }

    assertEquals(200, platform.send(platform.request("/v1/functions/chatty").DELETE().build())
        .statusCode());
    assertEquals(404, platform.get("/v1/functions/chatty/logs").statusCode(),
        "a deleted function's logs are gone with it");
  }
}
