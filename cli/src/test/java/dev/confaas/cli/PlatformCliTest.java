package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start against the whole platform ({@code confaas up}'s {@link Platform}, with
 * real agent processes and simulated TDX): a user's shell function deployed with {@code confaas
 * deploy --runtime shell --handler FILE} is invokable right after with {@code confaas invoke}.
 */
class PlatformCliTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Platform platform;

  @BeforeAll
  static void up() throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "1", "pool.max", "3",
        "pool.bootsInFlight", "1", "pool.healthInterval", "5s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  @Test
  void aFunctionDeployedWithTheCliAnswersTheCliRightAway() throws Exception {
    Path handler = work.resolve("shout.sh");
    Files.writeString(handler, "#!/bin/sh\nprintf '%s!' \"$(cat | tr a-z A-Z)\"\n");
    String url = platform.gatewayUrl().toString();
    String token = platform.adminToken();

    CliRun deploy = CliRun.of("deploy", "--name", "shout", "--runtime", "shell",
        "--handler", handler.toString(), "--url", url, "--token", token,
        "--data-dir", work.resolve("author").toString());
    assertEquals(0, deploy.code, deploy.toString());

    CliRun invoke = CliRun.of("invoke", "shout", "--data", "hello tdx", "--url", url,
        "--token", token);
    assertEquals(0, invoke.code, invoke.toString());
    assertEquals("HELLO TDX!", invoke.out.strip(), invoke.toString());

    CliRun json = CliRun.of("invoke", "shout", "--data", "again", "--json", "--url", url,
        "--token", token);
    assertEquals(0, json.code, json.toString());
    JsonObject outcome = new JsonObject(json.out);
    assertTrue(outcome.encode().contains("AGAIN!"), "the outcome lacks the body: " + json.out);
    assertTrue(outcome.encode().contains("process-"),
        "the outcome should name the TD that ran it: " + json.out);
  }
}
