package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.await;
import static dev.confaas.gateway.kafka.KafkaTestSupport.ok;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.gateway.FunctionRegistry;
import dev.confaas.gateway.Gateway;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.gateway.TdDirectory;
import dev.confaas.scheduler.FunctionInvoker;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Async invocations over real HTTP on a real gateway with the Kafka-backed store on a real broker:
 * the documented body limit, and a broker outage that must not stall the gateway.
 */
class AsyncOverHttpTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir Path dir;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /** Answers the length and SHA-256 of the event. */
  static final FunctionInvoker DIGEST = r -> CompletableFuture.completedFuture(
      ok(r, utf8(r.payload().length + ":" + KafkaAsyncInvocationsTest.sha256(r.payload()))));

  private Gateway gateway(FunctionInvoker invoker, KafkaAsyncInvocations async) throws Exception {
    Path data = dir.resolve("gateway");
    Gateway g = new Gateway(GatewayConfig.builder(data).build(), invoker,
        FunctionRegistry.open(data, Clock.systemUTC()), async, TdDirectory.NONE,
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    g.start();
    return g;
  }

  private HttpResponse<String> post(URI uri, byte[] body, Duration timeout) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).timeout(timeout)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonObject status(Gateway g, String id) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(g.url().resolve("/v1/invocations/" + id))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    return new JsonObject(r.body());
  }

  @Test
  void aSixMebibyteBodyIsAcceptedAndRuns() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0);
        KafkaAsyncInvocations async = KafkaAsyncInvocations.start(kafka.platformClients(), DIGEST,
            Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      Gateway g = gateway(DIGEST, async);
      try {
        byte[] body = new byte[6 * 1024 * 1024];
        new java.util.Random(6).nextBytes(body);
        HttpResponse<String> accepted = post(g.url().resolve("/v1/functions/digest/invoke-async"), body,
            Duration.ofSeconds(60));
        assertEquals(202, accepted.statusCode(), accepted.body());
        String id = new JsonObject(accepted.body()).getString("invocationId");
        await("the 6 MiB invocation succeeds", () -> {
          try {
            return "SUCCEEDED".equals(status(g, id).getString("state"));
          } catch (Exception e) {
            return false;
          }
        });
        assertEquals(body.length + ":" + KafkaAsyncInvocationsTest.sha256(body), status(g, id).getString("result"));
      } finally {
        g.close();
      }
    }
  }

  /**
   * With the broker gone, async submissions answer 503 with Retry-After, and nothing else waits
   * for Kafka: the event loop never blocks on a producer.
   */
  @Test
  void withTheBrokerDownOtherRequestsAreServedAndAsyncSubmitAnswers503() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0);
    KafkaAsyncInvocations async = KafkaAsyncInvocations.start(kafka.platformClients(), DIGEST,
        Clock.systemUTC(), Duration.ofHours(1), 2, 4);
    Gateway g = gateway(DIGEST, async);
    try {
      HttpResponse<String> before = post(g.url().resolve("/v1/functions/digest/invoke-async"), utf8("early"),
          Duration.ofSeconds(60));
      assertEquals(202, before.statusCode(), before.body());
      String early = new JsonObject(before.body()).getString("invocationId");
      await("the invocation accepted before the outage succeeds", () -> {
        try {
          return "SUCCEEDED".equals(status(g, early).getString("state"));
        } catch (Exception e) {
          return false;
        }
      });
      kafka.close();
      List<CompletableFuture<HttpResponse<String>>> submits = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        submits.add(http.sendAsync(HttpRequest.newBuilder(g.url().resolve("/v1/functions/digest/invoke-async"))
            .timeout(Duration.ofSeconds(90)).POST(HttpRequest.BodyPublishers.ofString("later " + i)).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      // While those wait for Kafka, a synchronous invocation and the health route are answered.
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> sync = post(g.url().resolve("/v1/functions/digest/invoke"), utf8("now"),
            Duration.ofSeconds(10));
        assertEquals(200, sync.statusCode(), sync.body());
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(g.url().resolve("/healthz"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode());
      }
      assertEquals("SUCCEEDED", status(g, early).getString("state"), "a recent status is answered from memory");
      for (CompletableFuture<HttpResponse<String>> f : submits) {
        HttpResponse<String> r = f.join();
        assertEquals(503, r.statusCode(), r.body());
        assertNotNull(r.headers().firstValue("Retry-After").orElse(null), "503 says when to retry");
        assertTrue(r.body().contains("UNAVAILABLE"), r.body());
      }
    } finally {
      g.close();
      async.close();
    }
  }
}
