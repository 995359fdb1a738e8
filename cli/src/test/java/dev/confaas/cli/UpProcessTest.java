package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * Issue 11 against {@code confaas up} as an operator runs it: its own JVM, in its own process group
 * (as a terminal starts it), stopped with a signal. A second {@code up} on its data directory is
 * refused naming it and it keeps serving (defect 2); SIGTERM to its process group (what Ctrl-C or
 * {@code kill} sends) lets a 5 s call in flight finish with 200 (defect 6), and leaves no agent
 * behind. The SIGTERM runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UpProcessTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Process up;
  static Path log;
  static URI url;
  static String token;
  static final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void start() throws Exception {
    log = work.resolve("up.log");
    List<String> cmd = new ArrayList<>(List.of(
        "setsid", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "up", "--data-dir", data.toString(), "--port", "0", "--kafka-port", "0",
        "--pool-size", "1"));
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("CONFAAS_POOL_MAX", "3");
    pb.environment().put("CONFAAS_POOL_BOOTS_IN_FLIGHT", "1");
    up = pb.start();
    long end = System.nanoTime() + Duration.ofMinutes(4).toNanos();
    while (!output().contains("confaas up: ready")) {
      if (!up.isAlive() || System.nanoTime() > end) {
        fail("confaas up did not get ready:\n" + output());
      }
      Thread.sleep(250);
    }
    url = URI.create(Files.readString(data.resolve(GatewayEndpoint.URL_FILE)).strip());
    token = Files.readString(data.resolve(GatewayEndpoint.TOKEN_FILE)).strip();
  }

  @AfterAll
  static void stop() throws Exception {
    if (up != null && up.isAlive()) {
      up.destroy();
      if (!up.waitFor(60, TimeUnit.SECONDS)) {
        up.destroyForcibly();
      }
    }
  }

  static String output() throws IOException {
    return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
  }

  static HttpResponse<String> invoke(String function, String event) {
    try {
      return http.send(
          HttpRequest.newBuilder(url.resolve("/v1/functions/" + function + "/invoke"))
              .timeout(Duration.ofSeconds(90))
              .POST(HttpRequest.BodyPublishers.ofString(event))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The curl line comes only after the sample answered an invocation (on a busy machine it used to
   * come long before it worked), and what it prints works at once.
   */
  @Test
  @Order(0)
  void theCurlLineComesOnlyOnceTheSampleAnswered() throws Exception {
    long end = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    while (!output().contains("Press Ctrl-C to stop.") && System.nanoTime() < end) {
      Thread.sleep(100);
    }
    List<String> lines = output().lines().toList();
    int ready = indexOf(lines, "confaas up: ready: the sample function answered after ");
    int curl = indexOf(lines, "  curl -s -X POST " + url + "/v1/functions/hello/invoke");
    int banner = indexOf(lines, "ConFaaS is up");
    assertTrue(banner >= 0 && ready > banner && curl > ready,
        "banner, then the sample's answer, then the curl line:\n" + output());
    assertTrue(lines.get(ready).contains(" s: Hello, ConFaaS! (from function instance "),
        "the sample's own answer: " + lines.get(ready));
    HttpResponse<String> r = invoke("hello", "ConFaaS");
    assertEquals(200, r.statusCode(), r.body());
  }

  private static int indexOf(List<String> lines, String prefix) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(prefix)) {
        return i;
      }
    }
    return -1;
  }

  @Test
  @Order(1)
  void aSecondUpOnTheSameDataDirectoryIsRefusedNamingTheFirstWhichKeepsServing() {
    CliRun second = CliRun.of("up", "--data-dir", data.toString(), "--port", "0",
        "--kafka-port", "0", "--pool-size", "1");
    assertEquals(1, second.code, second.toString());
    assertTrue(second.err.contains("PID " + up.pid()), second.toString());
    assertTrue(second.err.contains("gateway port " + url.getPort()), second.toString());
    assertTrue(second.err.contains("--data-dir"), "says what to do: " + second);
    assertTrue(up.isAlive(), "the first platform died");
    HttpResponse<String> r = invoke("hello", "first");
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  @Order(2)
  void sigtermLetsAFiveSecondCallInFlightFinishAndLeavesNoAgentBehind() throws Exception {
    Path handler = work.resolve("patient.sh");
    Files.writeString(handler,
        "#!/bin/sh\nevent=$(cat)\nif [ \"$event\" = slow ]; then sleep 5; fi\necho \"done:$event\"\n");
    CliRun deploy = CliRun.of("deploy", "--name", "patient", "--runtime", "shell",
        "--handler", handler.toString(), "--url", url.toString(), "--token", token,
        "--data-dir", work.resolve("author").toString());
    assertEquals(0, deploy.code, deploy.toString());
    assertEquals(200, invoke("patient", "warm").statusCode(), "warming up");

    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> invoke("patient", "slow"));
    Thread.sleep(1_500);
    Process kill = new ProcessBuilder("kill", "-TERM", "--", "-" + up.pid()).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -TERM -" + up.pid());

    HttpResponse<String> r = slow.get(60, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), "the call in flight at SIGTERM: " + r.body()
        + "\n--- confaas up:\n" + output());
    assertEquals("done:slow", r.body().strip());
    assertTrue(up.waitFor(90, TimeUnit.SECONDS), "confaas up did not exit:\n" + output());
    assertTrue(output().contains("stopping (in-flight invocations finish first)"), output());

    List<Long> agents = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(data.resolve("pool"))) {
      for (Path d : dirs.toList()) {
        Path pid = d.resolve("agent.pid");
        if (Files.exists(pid)) {
          agents.add(Long.parseLong(Files.readString(pid).strip()));
        }
      }
    }
    assertFalse(agents.isEmpty(), "no agent.pid under " + data.resolve("pool"));
    long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    for (long pid : agents) {
      while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        if (System.nanoTime() > end) {
          fail("agent " + pid + " outlived confaas up");
        }
        Thread.sleep(100);
      }
    }
  }
}
