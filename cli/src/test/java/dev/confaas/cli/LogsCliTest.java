package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.Manifest;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code confaas logs} against the whole platform: an image built with {@code confaas image build}
 * (which shares stdout and stderr by default) whose init fails after printing to stderr; the
 * author sees that line with {@code confaas logs NAME}.
 */
class LogsCliTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Platform platform;
  static String url;
  static String token;

  @BeforeAll
  static void up() throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "1", "pool.max", "3",
        "pool.bootsInFlight", "1", "pool.healthInterval", "5s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
    url = platform.gatewayUrl().toString();
    token = platform.adminToken();
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertEquals(0, r.code, String.join(" ", args) + "\n" + r);
    return r;
  }

  @Test
  void aFailedInitsStderrShowsInConfaasLogs() throws Exception {
    HttpResponse<String> runtimes = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(platform.gatewayUrl().resolve("/v1/runtimes"))
            .header("Authorization", "Bearer " + token).build(),
        HttpResponse.BodyHandlers.ofString());
    String shellLayer = new JsonObject(runtimes.body()).getJsonObject("shell").getString("layer");
    Path task = Files.createDirectories(work.resolve("task"));
    Path init = task.resolve("init.sh");
    Files.writeString(init,
        "#!/bin/sh\necho 'init: cannot read /var/task/settings.json' >&2\nexit 3\n");
    Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path keys = work.resolve("keys");
    Path build = work.resolve("build");
    ok("keygen", "--out", keys.toString());
    ok("image", "build", "--dir", task.toString(), "--layer-prefix", "var/task",
        "--working-dir", "/var/task", "--entrypoint", "/var/task/init.sh",
        "--vendor-layer", shellLayer, "--out", build.toString());
    Manifest m = Manifest.parse(Files.readAllBytes(build.resolve("manifest.json")));
    assertEquals(List.of(1, 2), m.logFDs(), "image build shares stdout and stderr by default");
    ok("image", "sign", build.resolve("manifest.json").toString(),
        "--key", keys.resolve("signer.key.pem").toString(),
        "--cert", keys.resolve("signer.cert.der").toString());
    Path layer;
    try (Stream<Path> s = Files.list(build)) {
      layer = s.filter(p -> p.toString().endsWith(".tar")).findFirst().orElseThrow();
    }
    ok("deploy", "--url", url, "--token", token, "--name", "broken",
        "--manifest", build.resolve("manifest.json").toString(),
        "--signature", build.resolve("manifest.json.sig").toString(),
        "--cert", keys.resolve("signer.cert.der").toString(), "--layer", layer.toString());

    CliRun invoke = CliRun.of("invoke", "broken", "--url", url, "--token", token, "--data", "{}");
    assertEquals(1, invoke.code, invoke.toString());

    // The line travels TD -> host stream -> store while the CLI asks; give it a few seconds.
    CliRun logs = null;
    for (int i = 0; i < 50; i++) {
      logs = ok("logs", "broken", "--url", url, "--token", token);
      if (logs.out.contains("init: cannot read")) {
        break;
      }
      Thread.sleep(200);
    }
    String line = logs.out.lines().filter(l -> l.contains("init: cannot read")).findFirst()
        .orElseThrow(() -> new AssertionError("confaas logs lacks the init output:\n"));
    assertTrue(line.contains(" broken:1 init i-"), "tagged as init output of version 1: " + line);
    assertTrue(line.endsWith(" stderr: init: cannot read /var/task/settings.json"), line);

    CliRun json = ok("logs", "broken", "--url", url, "--token", token, "--json", "--since", "10m");
    JsonObject o = new JsonObject(json.out.lines().filter(l -> l.contains("cannot read"))
        .findFirst().orElseThrow());
    assertEquals("", o.getString("requestId"));
    assertTrue(o.getString("td").startsWith("process-"), o.encode());

    CliRun none = ok("logs", "broken", "--url", url, "--token", token, "--request", "no-such-request");
    assertEquals("", none.out, "a request filter that matches nothing prints nothing");
    CliRun bad = CliRun.of("logs", "broken", "--url", url, "--token", token, "--since", "soon");
    assertEquals(1, bad.code, bad.toString());
    assertTrue(bad.err.contains("400") && bad.err.contains("RFC 3339"), bad.toString());
  }
}
