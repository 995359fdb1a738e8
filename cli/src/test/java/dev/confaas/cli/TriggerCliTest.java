package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.gateway.Problem;
import dev.confaas.gateway.kafka.EmbeddedKafka;
import dev.confaas.gateway.kafka.TriggerApi;
import dev.confaas.gateway.kafka.TriggerManager;
import dev.confaas.gateway.kafka.TriggerStore;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code confaas trigger} against the real TriggerApi on a Vert.x server and a real broker. */
class TriggerCliTest {
  static {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
  }

  private static final String TOKEN = "test-management-token";

  @TempDir static Path dir;
  static EmbeddedKafka kafka;
  static Vertx vertx;
  static HttpServer server;
  static TriggerManager manager;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0);
    manager =
        new TriggerManager(
            new TriggerStore(dir.resolve("data")),
            kafka.platformClients(),
            r -> CompletableFuture.completedFuture(
                new InvocationResult(r.requestId(), new byte[0], null, "td", "img", "i", Duration.ZERO)),
            new SimpleMeterRegistry(),
            Clock.systemUTC(),
            2);
    vertx = Vertx.vertx();
    Router main = Router.router(vertx);
    // Stands in for the gateway's management-token check in front of the mounted router.
    main.route("/v1/*").handler(ctx -> {
      if (("Bearer " + TOKEN).equals(ctx.request().getHeader("Authorization"))) {
        ctx.next();
      } else {
        Problem.of(Problem.Reason.UNAUTHORIZED, "missing or wrong management token").send(ctx);
      }
    });
    main.route("/v1/triggers*").subRouter(TriggerApi.router(vertx, manager, Set.of("thumbnail")::contains));
    server = vertx.createHttpServer().requestHandler(main).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    manager.close();
    kafka.close();
  }

  @AfterEach
  void resetEnvironment() {
    TriggerCommand.environment = System::getenv;
  }

  private static void useGateway(String token) {
    Map<String, String> env = Map.of(
        "CONFAAS_URL", "http://127.0.0.1:" + server.actualPort(),
        "CONFAAS_TOKEN", token,
        "CONFAAS_DATA_DIR", dir.resolve("none").toString());
    TriggerCommand.environment = () -> env;
  }

  @Test
  void addListAndRemoveATrigger() throws Exception {
    useGateway(TOKEN);
    CliRun add = CliRun.of("trigger", "add", "thumbnail", "--topic", "uploads", "--dead-letter-topic",
        "uploads.dlq", "--max-retries", "5", "--ordering", "key", "--concurrency", "4", "--json");
    assertEquals(0, add.code, add.toString());
    JsonNode t = new ObjectMapper().readTree(add.out);
    String id = t.get("id").asText();
    assertEquals("thumbnail", t.get("function").asText());
    assertEquals("confaas-thumbnail-uploads", t.get("group").asText(), "default group");
    assertEquals("key", t.get("ordering").asText());
    assertEquals(5, t.get("maxRetries").asInt());
    assertEquals("value", t.get("event").asText(), "a new trigger delivers the record's value by default");

    CliRun list = CliRun.of("trigger", "list");
    assertEquals(0, list.code, list.toString());
    assertTrue(list.out.contains(id) && list.out.contains("uploads.dlq"), list.toString());
    CliRun listJson = CliRun.of("trigger", "list", "--json");
    assertEquals(id, new ObjectMapper().readTree(listJson.out.lines().findFirst().orElseThrow()).get("id").asText());

    // The detail route reports where the trigger stands, lag per partition included; its consumer
    // is STARTING until the group gives it partitions, then RUNNING.
    java.net.http.HttpResponse<String> detail;
    JsonNode d;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    do {
      detail = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(
                  java.net.URI.create("http://127.0.0.1:" + server.actualPort() + "/v1/triggers/" + id))
              .header("Authorization", "Bearer " + TOKEN).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, detail.statusCode(), detail.body());
      d = new ObjectMapper().readTree(detail.body());
      Thread.sleep(50); // polling for a state, not waiting for time to pass
    } while (!d.get("state").asText().equals("RUNNING") && System.nanoTime() < deadline);
    assertEquals("RUNNING", d.get("state").asText(), detail.body());
    assertTrue(d.get("running").asBoolean(), detail.body());
    assertEquals(0, d.get("restarts").asInt(), detail.body());
    assertTrue(d.get("lag").isObject(), detail.body());
    assertEquals("uploads.dlq", d.get("deadLetterTopic").asText());

    CliRun duplicate = CliRun.of("trigger", "add", "thumbnail", "--topic", "uploads");
    assertEquals(1, duplicate.code, duplicate.toString());
    assertTrue(duplicate.err.contains("409 Trigger already exists: ") && duplicate.err.contains("choose another group"), duplicate.err);

    CliRun remove = CliRun.of("trigger", "remove", id);
    assertEquals(0, remove.code, remove.toString());
    assertEquals(0, manager.list().size());
    CliRun again = CliRun.of("trigger", "remove", id);
    assertEquals(1, again.code);
    assertTrue(again.err.contains("404 Not found: ") && again.err.contains("no trigger '" + id + "'"), again.err);
  }

  @Test
  void theEnvelopeIsChosenWithEvent() throws Exception {
    useGateway(TOKEN);
    CliRun add = CliRun.of("trigger", "add", "thumbnail", "--topic", "batched", "--event", "envelope",
        "--batch-size", "10", "--json");
    assertEquals(0, add.code, add.toString());
    JsonNode t = new ObjectMapper().readTree(add.out);
    assertEquals("envelope", t.get("event").asText());
    assertEquals(10, t.get("batchSize").asInt());
    assertEquals(0, CliRun.of("trigger", "remove", t.get("id").asText()).code);
  }

  @Test
  void listShowsWhereRepliesGo() {
    useGateway(TOKEN);
    CliRun add = CliRun.of("trigger", "add", "thumbnail", "--topic", "sizes", "--reply-topic",
        "sizes-done");
    assertEquals(0, add.code, add.toString());
    String id = add.out.strip();
    try {
      CliRun list = CliRun.of("trigger", "list");
      assertEquals(0, list.code, list.toString());
      String header = list.out.lines().findFirst().orElseThrow();
      assertTrue(header.matches("ID +FUNCTION +TOPIC +ORDERING +REPLY-TOPIC +DEAD-LETTER"), header);
      String row = list.out.lines().filter(l -> l.startsWith(id + " ")).findFirst().orElseThrow();
      assertTrue(row.matches(java.util.regex.Pattern.quote(id)
          + " +thumbnail +sizes +partition +sizes-done +-"), row);
    } finally {
      assertEquals(0, CliRun.of("trigger", "remove", id).code);
    }
  }

  @Test
  void errorsSayWhatWasWrong() {
    useGateway(TOKEN);
    CliRun unknown = CliRun.of("trigger", "add", "ghost", "--topic", "t1");
    assertEquals(1, unknown.code);
    assertTrue(unknown.err.contains("no function 'ghost'"), unknown.err);

    CliRun badTopic = CliRun.of("trigger", "add", "thumbnail", "--topic", "no spaces allowed");
    assertEquals(1, badTopic.code);
    assertTrue(badTopic.err.contains("400 Invalid trigger: ") && badTopic.err.contains("topic must be a Kafka topic name"),
        badTopic.err);

    CliRun badOrdering = CliRun.of("trigger", "add", "thumbnail", "--topic", "t2", "--ordering", "random");
    assertEquals(1, badOrdering.code);
    assertTrue(badOrdering.err.contains("--ordering must be partition, key or none"), badOrdering.err);

    CliRun badEvent = CliRun.of("trigger", "add", "thumbnail", "--topic", "t3", "--event", "json");
    assertEquals(1, badEvent.code);
    assertTrue(badEvent.err.contains("--event must be value or envelope"), badEvent.err);
    CliRun valueBatch = CliRun.of("trigger", "add", "thumbnail", "--topic", "t4", "--batch-size", "10");
    assertEquals(1, valueBatch.code);
    assertTrue(valueBatch.err.contains("needs event 'envelope'"), valueBatch.err);

    useGateway("wrong-token");
    CliRun denied = CliRun.of("trigger", "list");
    assertEquals(1, denied.code);
    assertTrue(denied.err.contains("refused the management token")
        && denied.err.contains("401 Unauthorized: missing or wrong management token"), denied.err);
  }
}
