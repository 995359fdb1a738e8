package dev.confaas.gateway;

import static dev.confaas.gateway.ProblemAssertions.assertProblem;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's part of receipts and sealed invocations over real HTTP, with a stand-in scheduler: the
 * TD's receipt reaches the caller unchanged (header, async status), the evidence routes answer
 * without a token, and a sealed request is relayed to the TD it names and its sealed response back,
 * with the platform's refusals as problems.
 */
class GatewayReceiptsTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  static final String RECEIPT = "eyJhbGciOiJFUzM4NCJ9.eyJ0ZCI6InRkLTEifQ.c2lnbmF0dXJl";
  static final String IMAGE = "sha384/" + "a".repeat(96) + "/" + "b".repeat(96);
  static final byte[] SEALED_RESPONSE = {0x5e, 0x41, 0x1e, 0x0d, 0, 1, 2, 3};

  @TempDir Path data;
  final List<InvocationRequest> seen = new CopyOnWriteArrayList<>();
  Gateway gateway;
  Http anonymous;

  /** {@code signed}: answers with a receipt; {@code signed-fail}: fails, with one; sealed ones by TD name. */
  final FunctionInvoker invoker = r -> {
    seen.add(r);
    if (r.isSealed()) {
      return switch (r.targetTd()) {
        case "td-gone" -> rejected(InvocationRejectedException.Reason.TD_GONE);
        case "td-full" -> rejected(InvocationRejectedException.Reason.TD_REFUSES_FUNCTION);
        case "td-other" -> rejected(InvocationRejectedException.Reason.SEALED_REQUEST_REFUSED);
        case "td-fails" -> CompletableFuture.completedFuture(new InvocationResult(r.requestId(), null,
            new FunctionError(FunctionError.Kind.HANDLED, "", "sealed", -1), r.targetTd(), IMAGE, "i-1",
            Duration.ZERO, RECEIPT, SEALED_RESPONSE));
        default -> CompletableFuture.completedFuture(new InvocationResult(r.requestId(), SEALED_RESPONSE,
            null, r.targetTd(), IMAGE, "i-1", Duration.ZERO, RECEIPT, SEALED_RESPONSE));
      };
    }
    if (r.function().equals("signed-fail")) {
      return CompletableFuture.completedFuture(new InvocationResult(r.requestId(), null,
          new FunctionError(FunctionError.Kind.HANDLED, "ValueError", "no", -1), "td-1", IMAGE, "i-1",
          Duration.ZERO, RECEIPT, null));
    }
    return CompletableFuture.completedFuture(new InvocationResult(r.requestId(),
        r.payload(), null, "td-1", IMAGE, "i-1", Duration.ZERO, RECEIPT, null));
  };

  private static CompletableFuture<InvocationResult> rejected(InvocationRejectedException.Reason reason) {
    return CompletableFuture.failedFuture(new InvocationRejectedException(reason, "because " + reason));
  }

  /** One TD, td-1, with evidence; nothing warm. */
  final TdDirectory tds = new TdDirectory() {
    @Override
    public JsonArray list() {
      return new JsonArray();
    }

    @Override
    public Optional<byte[]> evidence(String tdId) {
      return tdId.equals("td-1")
          ? Optional.of("{\"version\":1,\"td_id\":\"td-1\"}".getBytes(StandardCharsets.UTF_8))
          : Optional.empty();
    }
  };

  @BeforeEach
  void start() throws Exception {
    gateway = new Gateway(GatewayConfig.builder(data).clock(CLOCK).build(), invoker,
        FunctionRegistry.open(data, CLOCK),
        new InMemoryAsyncInvocations(invoker, CLOCK, Duration.ofHours(1), Duration.ofMinutes(1)),
        tds, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    anonymous = new Http(gateway.url(), null);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  void theReceiptIsAHeaderOnSuccessAndOnFunctionError() {
    HttpResponse<String> ok = anonymous.post("/v1/functions/signed/invoke", "hi");
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals(RECEIPT, ok.headers().firstValue("ConFaaS-Receipt").orElse(null));

    HttpResponse<String> failed = anonymous.post("/v1/functions/signed-fail/invoke", "hi");
    assertProblem(failed, 502, "HANDLED");
    assertEquals(RECEIPT, failed.headers().firstValue("ConFaaS-Receipt").orElse(null),
        "a function error has a receipt too");
  }

  @Test
  void theAsyncStatusCarriesTheReceipt() throws Exception {
    HttpResponse<String> accepted = anonymous.post("/v1/functions/signed/invoke-async", "hi");
    assertEquals(202, accepted.statusCode(), accepted.body());
    String id = new JsonObject(accepted.body()).getString("invocationId");
    JsonObject status = new JsonObject(anonymous.get("/v1/invocations/" + id).body());
    assertEquals("SUCCEEDED", status.getString("state"), status.encode());
    assertEquals(RECEIPT, status.getString("receipt"));
  }

  @Test
  void evidenceIsReadWithoutATokenAndUnknownOnesAre404() {
    HttpResponse<String> e = anonymous.get("/v1/tds/td-1/evidence");
    assertEquals(200, e.statusCode(), e.body());
    assertEquals("td-1", new JsonObject(e.body()).getString("td_id"));
    assertTrue(assertProblem(anonymous.get("/v1/tds/td-9/evidence"), 404, "NOT_FOUND")
        .getString("detail").contains("td-9"));
    assertTrue(assertProblem(anonymous.get("/v1/functions/nope/evidence"), 404, "NOT_FOUND")
        .getString("detail").contains("nope"));
  }

  private HttpResponse<String> sealed(String path, String td, byte[] body) {
    HttpRequest.Builder b = anonymous.request(path).header("Content-Type", "message/ohttp-req");
    if (td != null) {
      b.header("ConFaaS-TD", td);
    }
    return anonymous.send(b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  @Test
  void aSealedRequestIsRelayedToItsTdAndTheSealedResponseBack() {
    byte[] request = {0, 0, 32, 0, 1, 0, 1, 9, 9, 9};
    HttpResponse<byte[]> r = anonymous.sendBytes(anonymous.request("/v1/functions/signed/invoke")
        .header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", "td-1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build());
    assertEquals(200, r.statusCode());
    assertEquals("message/ohttp-res", r.headers().firstValue("Content-Type").orElse(null));
    assertArrayEquals(SEALED_RESPONSE, r.body());
    assertEquals(RECEIPT, r.headers().firstValue("ConFaaS-Receipt").orElse(null));
    InvocationRequest got = seen.get(seen.size() - 1);
    assertEquals("td-1", got.targetTd());
    assertArrayEquals(request, got.sealedRequest(), "the ciphertext reaches the scheduler as sent");
    assertEquals(0, got.payload().length);
    assertFalse(got.toString().contains("9, 9"), "a request's toString shows no bytes");

    HttpResponse<byte[]> failed = anonymous.sendBytes(anonymous.request("/v1/functions/signed/invoke")
        .header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", "td-fails")
        .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build());
    assertEquals(200, failed.statusCode(), "a relay answers 200; the error is sealed");
    assertArrayEquals(SEALED_RESPONSE, failed.body());
    assertEquals("HANDLED", failed.headers().firstValue("X-Confaas-Function-Error").orElse(null));
  }

  @Test
  void sealedRefusalsAreProblemsNamingWhy() {
    byte[] body = {1, 2, 3};
    assertTrue(assertProblem(sealed("/v1/functions/signed/invoke", null, body), 400, "BAD_REQUEST")
        .getString("detail").contains("ConFaaS-TD"));
    assertProblem(sealed("/v1/functions/signed/invoke", "td-gone", body), 410, "TD_GONE");
    assertProblem(sealed("/v1/functions/signed/invoke", "td-full", body), 409, "TD_REFUSES_FUNCTION");
    assertProblem(sealed("/v1/functions/signed/invoke", "td-other", body), 403, "SEALED_REQUEST_REFUSED");
    assertTrue(assertProblem(sealed("/v1/functions/signed/invoke-async", null, body), 400, "BAD_REQUEST")
        .getString("detail").contains("ConFaaS-TD"), "a sealed async submit names its TD too");
    assertNull(seen.stream().filter(r -> r.function().equals("signed") && r.targetTd() == null)
        .findFirst().orElse(null), "no sealed request went out as a plain one");
  }

  /** Submits a sealed request asynchronously and returns its final status document. */
  private JsonObject sealedAsync(String td, byte[] request) {
    HttpResponse<String> accepted = sealed("/v1/functions/signed/invoke-async", td, request);
    assertEquals(202, accepted.statusCode(), accepted.body());
    String id = new JsonObject(accepted.body()).getString("invocationId");
    return new JsonObject(anonymous.get("/v1/invocations/" + id).body());
  }

  @Test
  void aSealedAsyncInvocationRunsInItsTdAndItsStatusHoldsTheSealedResponse() {
    byte[] request = {0, 0, 32, 0, 1, 0, 1, 7, 7, 7};
    JsonObject ok = sealedAsync("td-1", request);
    assertEquals("SUCCEEDED", ok.getString("state"), ok.encode());
    assertEquals(Boolean.TRUE, ok.getBoolean("sealed"), ok.encode());
    assertEquals("base64", ok.getString("resultEncoding"), "ciphertext is always base64: " + ok.encode());
    assertArrayEquals(SEALED_RESPONSE, java.util.Base64.getDecoder().decode(ok.getString("result")));
    assertEquals(RECEIPT, ok.getString("receipt"));
    assertEquals("td-1", ok.getString("tdId"));
    InvocationRequest got = seen.get(seen.size() - 1);
    assertEquals("td-1", got.targetTd(), "it runs pinned to the TD it was sealed to");
    assertArrayEquals(request, got.sealedRequest(), "the ciphertext reaches the scheduler as sent");
    assertEquals(0, got.payload().length);

    HttpResponse<byte[]> raw = anonymous.sendBytes(anonymous.request(
        "/v1/invocations/" + ok.getString("invocationId") + "/result").GET().build());
    assertEquals(200, raw.statusCode());
    assertEquals("message/ohttp-res", raw.headers().firstValue("Content-Type").orElse(null));
    assertArrayEquals(SEALED_RESPONSE, raw.body());
    assertEquals(RECEIPT, raw.headers().firstValue("ConFaaS-Receipt").orElse(null));

    JsonObject failed = sealedAsync("td-fails", request);
    assertEquals("FAILED", failed.getString("state"), failed.encode());
    assertArrayEquals(SEALED_RESPONSE, java.util.Base64.getDecoder().decode(failed.getString("result")),
        "a sealed function error keeps the TD's sealed response: the error document is inside");
    assertEquals("HANDLED", failed.getJsonObject("error").getString("kind"), failed.encode());
    HttpResponse<byte[]> failedRaw = anonymous.sendBytes(anonymous.request(
        "/v1/invocations/" + failed.getString("invocationId") + "/result").GET().build());
    assertEquals("HANDLED", failedRaw.headers().firstValue("X-Confaas-Function-Error").orElse(null));
  }

  @Test
  void aSealedAsyncInvocationWhoseTdIsGoneEndsWithTheReasonAndNoResult() {
    int before = seen.size();
    JsonObject gone = sealedAsync("td-gone", new byte[] {1, 2, 3});
    assertEquals("REJECTED", gone.getString("state"), gone.encode());
    assertEquals("TD_GONE", gone.getJsonObject("error").getString("reason"), gone.encode());
    assertNull(gone.getString("result"), gone.encode());
    assertNull(gone.getString("tdId"), "it ran nowhere: " + gone.encode());
    assertEquals(before + 1, seen.size(), "tried once, pinned, never elsewhere: " + seen);
    assertTrue(assertProblem(anonymous.get("/v1/invocations/" + gone.getString("invocationId") + "/result"),
        404, "NOT_FOUND").getString("detail").contains("REJECTED"));
  }
}
