package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 on one whole platform: a corrupt function file does not stop it from starting; a second
 * platform on its data directory is refused while it keeps serving (defect 2); and its shutdown is
 * one ordered sequence that lets an in-flight call finish (defect 6). The shutdown runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlatformLifecycleTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static PlatformFixture platform;

  @BeforeAll
  static void up() throws Exception {
    // Left by a crash, a bad edit or a full disk: the platform must start without it.
    Path functions = Files.createDirectories(data.resolve("functions"));
    Files.writeString(functions.resolve("ghost.json"), "{\"name\": \"ghost\", \"vers");
    platform = PlatformFixture.start(data);
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  @Test
  @Order(1)
  void aCorruptFunctionFileIsMovedAsideAndReportedAndThePlatformServes() throws IOException {
    List<String> warnings = platform.platform.warnings();
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("ghost.json") && warnings.get(0).contains("moved it to"),
        warnings.get(0));
    try (Stream<Path> s = Files.list(data.resolve("functions"))) {
      List<String> names = s.map(p -> p.getFileName().toString()).toList();
      assertFalse(names.contains("ghost.json"), names.toString());
      assertTrue(names.stream().anyMatch(n -> n.startsWith("ghost.json.corrupt-")), names.toString());
    }
    platform.invokeOk(Platform.SAMPLE_FUNCTION, "lifecycle");
  }

  @Test
  @Order(2)
  void aSecondPlatformOnTheSameDataDirectoryIsRefusedAndTheFirstKeepsServing() {
    Map<String, String> otherPorts = Map.of("gateway.port", "0", "kafka.port", "0");
    IOException e = assertThrows(IOException.class,
        () -> Platform.start(Settings.load(data, Map.of(), otherPorts), line -> {}).close());
    String m = e.getMessage();
    assertTrue(m.contains("PID " + ProcessHandle.current().pid()), m);
    assertTrue(m.contains("gateway port " + platform.url.getPort()), m);
    assertTrue(m.contains("Kafka port " + platform.platform.kafkaBootstrap()
        .substring(platform.platform.kafkaBootstrap().lastIndexOf(':') + 1)), m);
    assertEquals(200, platform.invoke(Platform.SAMPLE_FUNCTION, "still here").statusCode());
    assertEquals(200, platform.get("/readyz").statusCode());
  }

  @Test
  @Order(3)
  void closingThePlatformLetsAnInFlightCallFinishAndRefusesNewOnes() throws Exception {
    platform.deployShell(work, "patient", SigningKeys.generate("pat", Clock.systemUTC()),
        "event=$(cat)\nif [ \"$event\" = slow ]; then sleep 5; fi\necho \"done:$event\"",
        m -> {}, new JsonObject().put("name", "patient").put("timeoutMs", 30_000).encode());
    platform.invokeOk("patient", "warm"); // the slow call below must not wait for a cold start

    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> platform.invoke("patient", "slow"));
    Thread.sleep(1_500); // it is in the function now
    long t0 = System.nanoTime();
    CompletableFuture<Void> closing = CompletableFuture.runAsync(platform.platform::close);
    Thread.sleep(500);
    HttpResponse<String> late = platform.invoke("patient", "late");
    assertEquals(503, late.statusCode(), "a call arriving during shutdown: " + late.body());

    HttpResponse<String> r = slow.get(60, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), "the in-flight call: " + r.body());
    assertEquals("done:slow", r.body().trim());
    closing.get(60, TimeUnit.SECONDS);
    assertFalse(platform.platform.ready(), "the warm pool still reports attested TDs after close");
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertTrue(took.compareTo(Duration.ofSeconds(3)) > 0,
        "close returned in " + took + ", before the in-flight call could have finished");
    platform = null;
  }
}
