package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.gateway.FunctionRegistry;
import dev.confaas.gateway.Gateway;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.gateway.InMemoryAsyncInvocations;
import dev.confaas.gateway.RuntimeCatalog;
import dev.confaas.gateway.TdDirectory;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRequest;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code confaas deploy}, {@code invoke} and {@code functions} against a real gateway. */
class DeployInvokeCliTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  static final SigningKeys VENDOR = SigningKeys.generate("vendor", CLOCK);
  static final SigningKeys AUTHOR = SigningKeys.generate("author", CLOCK);
  static final NameSvn SHELL = NameSvn.of("confaas-shell", 1);

  /** Stands in for the scheduler: answers the event in upper case; "broken" fails. */
  static final FunctionInvoker UPPER = (InvocationRequest r) -> {
    if (r.function().equals("traced")) {
      return CompletableFuture.completedFuture(new InvocationResult(r.requestId(), null,
          new FunctionError(FunctionError.Kind.HANDLED, "HandlerError", "handler exited", -1,
              "{\"errorMessage\":\"handler exited with status 3\",\"errorType\":\"HandlerError\","
                  + "\"stackTrace\":[\"at main (h.sh:7)\"],\"exitStatus\":3}"),
          "td-7", null, "i-1", Duration.ZERO));
    }
    if (r.function().equals("broken")) {
      return CompletableFuture.completedFuture(new InvocationResult(r.requestId(), null,
          new FunctionError(FunctionError.Kind.HANDLED, "KeyError", "no key 'x'", -1), "td-7",
          null, "i-1", Duration.ZERO));
    }
    return CompletableFuture.completedFuture(new InvocationResult(r.requestId(),
        new String(r.payload(), StandardCharsets.UTF_8).toUpperCase(Locale.ROOT)
            .getBytes(StandardCharsets.UTF_8), null, "td-7", "img", "i-1", Duration.ZERO));
  };

  @TempDir Path data;
  @TempDir Path work;
  FunctionRegistry registry;
  RuntimeCatalog runtimes = new RuntimeCatalog();
  Gateway gateway;
  String url;
  String token;

  @BeforeEach
  void start() throws Exception {
    registry = FunctionRegistry.open(data, CLOCK);
    Path tree = Files.createDirectories(work.resolve("runtime"));
    Files.writeString(tree.resolve("bootstrap"), "#!/bin/sh\nexec sh \"/var/task/$_HANDLER\"\n");
    Path tar = work.resolve("runtime.tar");
    LayerTar.write(tree, "var/runtime/", tar);
    Digest d = registry.vendorLayers().addLayer(tar);
    registry.vendorLayers().publish(VENDOR.signer().signed(
        Manifest.builder().addLayer(d).contentAlias(d, SHELL).build()));
    gateway = new Gateway(GatewayConfig.builder(data).clock(CLOCK).runtimes(runtimes).build(),
        UPPER, registry, new InMemoryAsyncInvocations(UPPER, CLOCK, Duration.ofHours(1),
            Duration.ofMinutes(1)), TdDirectory.NONE,
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    url = gateway.url().toString();
    token = gateway.adminToken();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  CliRun cli(String... args) {
    return CliRun.of(args);
  }

  /** Builds and signs a function image the way 'confaas image build/sign' leaves it on disk. */
  Path[] signedImage(String script) throws Exception {
    Path tree = Files.createDirectories(work.resolve("fn-" + script.hashCode()));
    Files.writeString(tree.resolve("hello.sh"), script);
    Path tar = work.resolve("fn-" + script.hashCode() + ".tar");
    Digest layer = LayerTar.write(tree, "var/task/", tar);
    SignedManifest signed = AUTHOR.signer().signed(Manifest.builder()
        .addLayer(AliasRef.of(VENDOR.signerId(), SHELL))
        .addLayer(layer)
        .entrypoint("/var/runtime/bootstrap")
        .addEnv("_HANDLER=hello.sh")
        .build());
    Path m = work.resolve("manifest.json");
    Path s = work.resolve("signature");
    Path c = work.resolve("author.cert.der");
    Files.write(m, signed.manifest().bytes());
    Files.write(s, signed.signature());
    Files.write(c, signed.certificateDer());
    return new Path[] {m, s, c, tar};
  }

  @Test
  void deployThenInvokeThenList() throws Exception {
    Path[] img = signedImage("echo hello\n");
    CliRun deploy = cli("deploy", "--url", url, "--token", token, "--name", "hello",
        "--manifest", img[0].toString(), "--signature", img[1].toString(),
        "--cert", img[2].toString(), "--layer", img[3].toString(), "--concurrency", "3");
    assertEquals(0, deploy.code, deploy.toString());
    assertTrue(deploy.out.startsWith("deployed hello version 1\n"), deploy.toString());
    assertEquals(3, registry.resolve("hello", null).orElseThrow().concurrency());

    CliRun invoke = cli("invoke", "hello", "--url", url, "--data", "hi there");
    assertEquals(0, invoke.code, invoke.toString());
    assertEquals("HI THERE", invoke.out, "the body exactly, with no newline added");

    Path event = work.resolve("event.json");
    Files.writeString(event, "{\"a\":1}");
    CliRun json = cli("invoke", "hello", "--url", url, "--data-file", event.toString(), "--json");
    JsonObject o = new JsonObject(json.out);
    assertEquals("{\"A\":1}", o.getString("body"));
    assertEquals("td-7", o.getString("tdId"));

    CliRun list = cli("functions", "list", "--url", url, "--token", token);
    assertEquals(0, list.code, list.toString());
    assertTrue(list.out.lines().anyMatch(l -> l.startsWith("hello ") && l.contains(
        registry.resolve("hello", null).orElseThrow().imageId())), list.toString());

    CliRun get = cli("functions", "get", "hello", "--url", url, "--token", token, "--json");
    assertEquals(1, new JsonObject(get.out).getJsonObject("aliases").getInteger("latest"));

    CliRun delete = cli("functions", "delete", "hello", "--url", url, "--token", token);
    assertEquals(0, delete.code, delete.toString());
    CliRun gone = cli("functions", "get", "hello", "--url", url, "--token", token);
    assertEquals(1, gone.code);
    assertTrue(gone.err.contains("gateway answered 404 Not found: no function named \"hello\""),
        "the problem's status, title and detail: " + gone);
    assertFalse(gone.err.contains("{"), "no raw JSON: " + gone);
  }

  /**
   * On a terminal, a text response that does not end in a newline gets one, so the prompt starts
   * on a line of its own; through a pipe the bytes are the response's alone. The CLI runs in its
   * own JVM, under a real pseudo-terminal (script(1)) and behind a real pipe.
   */
  @Test
  void invokeEndsTheLineOnATerminalAndAddsNothingToAPipe() throws Exception {
    Path script = Path.of("/usr/bin/script");
    Assumptions.assumeTrue(Files.isExecutable(script), "needs script(1) from util-linux");
    Path[] img = signedImage("cat\n");
    CliRun deploy = cli("deploy", "--url", url, "--token", token, "--name", "shout",
        "--manifest", img[0].toString(), "--signature", img[1].toString(),
        "--cert", img[2].toString(), "--layer", img[3].toString());
    assertEquals(0, deploy.code, deploy.toString());

    assertEquals("NO NEWLINE", ownJvm(false, "no newline"), "a pipe gets the response exactly");
    assertEquals("NO NEWLINE\r\n", ownJvm(true, "no newline"),
        "a terminal gets a newline after a response without one (the tty shows it as CR LF)");
    assertEquals("ENDS\r\n", ownJvm(true, "ends\n"), "a response ending in a newline keeps one");
  }

  /** {@code confaas invoke shout --data EVENT} in its own JVM: its stdout, on a pty or a pipe. */
  private String ownJvm(boolean onTerminal, String event) throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "invoke", "shout", "--url", url, "--data", event);
    List<String> run = cmd;
    if (onTerminal) {
      StringBuilder line = new StringBuilder();
      for (String arg : cmd) {
        line.append(line.length() == 0 ? "" : " ").append("'").append(arg.replace("'", "'\\''"))
            .append("'");
      }
      run = List.of("/usr/bin/script", "-qec", line.toString(), "/dev/null");
    }
    Process p = new ProcessBuilder(run)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "confaas invoke hung");
    assertEquals(0, p.exitValue(), "exit status of " + run);
    return new String(out, StandardCharsets.UTF_8);
  }

  @Test
  void failuresExitNonZeroWithTheReason() throws Exception {
    CliRun broken = cli("invoke", "broken", "--url", url, "--data", "{}");
    assertEquals(1, broken.code, broken.toString());
    assertEquals("", broken.out);
    assertTrue(broken.err.contains("function broken failed (HANDLED KeyError): no key 'x' [td td-7,"
        + " request "), broken.toString());
    CliRun traced = cli("invoke", "traced", "--url", url, "--data", "{}");
    assertEquals(1, traced.code, traced.toString());
    assertTrue(traced.err.contains("function traced failed (HANDLED HandlerError, exit 3): handler"
        + " exited with status 3 [td td-7, request "), traced.toString());
    assertTrue(traced.err.contains("; stack: at main (h.sh:7)"), "the function's stack: " + traced);
    CliRun tracedJson = cli("invoke", "traced", "--url", url, "--data", "{}", "--json");
    JsonObject problem = new JsonObject(tracedJson.out).getJsonObject("error");
    assertEquals("HANDLED", problem.getString("reason"), tracedJson.toString());
    assertEquals(3, problem.getJsonObject("functionError").getInteger("exitStatus"));

    Path[] img = signedImage("echo bad\n");
    CliRun noLayer = cli("deploy", "--url", url, "--token", token, "--name", "hello",
        "--manifest", img[0].toString(), "--signature", img[1].toString(),
        "--cert", img[2].toString());
    assertEquals(1, noLayer.code, noLayer.toString());
    assertTrue(noLayer.err.contains("422 Layer missing: ")
        && noLayer.err.contains("neither uploaded nor stored"), noLayer.toString());

    CliRun badToken = cli("functions", "list", "--url", url, "--token", "nope-nope-nope");
    assertEquals(1, badToken.code);
    assertTrue(badToken.err.contains("refused the token: 401 Unauthorized: this route needs the"
        + " management token"), badToken.toString());

    CliRun noRuntime = cli("deploy", "--url", url, "--token", token, "--name", "x",
        "--runtime", "shell", "--handler", img[3].toString(), "--data-dir", data.toString());
    assertEquals(1, noRuntime.code);
    assertTrue(noRuntime.err.contains("offers none yet"), noRuntime.toString());
  }

  @Test
  void runtimeDeployBuildsAndSignsWithTheAuthorKey() throws Exception {
    runtimes.put("shell", new RuntimeCatalog.Runtime(
        AliasRef.of(VENDOR.signerId(), SHELL).toString(), List.of("/var/runtime/bootstrap"),
        List.of()));
    Path script = work.resolve("greet.sh");
    Files.writeString(script, "echo greetings\n");
    CliRun deploy = cli("deploy", "--url", url, "--token", token, "--name", "greet",
        "--runtime", "shell", "--handler", script.toString(), "--data-dir", data.toString(),
        "--invoke-auth", "token", "--json");
    assertEquals(0, deploy.code, deploy.toString());
    JsonObject r = new JsonObject(deploy.out);
    assertFalse(r.getString("invokeToken").isBlank());
    assertTrue(Files.exists(data.resolve("keys/author.key.pem")), "the author key was created");

    SignedManifest stored = registry.images()
        .getImage(ImageId.parse(r.getString("imageId"))).orElseThrow();
    assertTrue(stored.manifest().env().contains("_HANDLER=greet.sh"), stored.manifest().env()
        .toString());
    assertEquals(List.of("/var/runtime/bootstrap"), stored.manifest().entrypoint());
    assertEquals(1, registry.resolve("greet", null).orElseThrow().dependencies().size());
    CliRun human = cli("deploy", "--url", url, "--token", token, "--name", "greet",
        "--runtime", "shell", "--handler", script.toString(), "--data-dir", data.toString());
    assertEquals(0, human.code, human.toString());
    String vendorImage = registry.resolve("greet", null).orElseThrow().dependencies().get(0);
    assertTrue(human.out.contains("vendor:  " + vendorImage + "  (the vendor image that publishes"
        + " the framework layer this image names by alias; TDs load it with the function)"),
        "the vendor image line says what it is: " + human);
    assertFalse(human.out.contains("needs:"), human.toString());

    // A second deploy signs with the same author key.
    CliRun again = cli("deploy", "--url", url, "--token", token, "--name", "greet",
        "--runtime", "shell", "--handler", script.toString(), "--data-dir", data.toString(),
        "--json");
    assertEquals(0, again.code, again.toString());
    assertEquals(ImageId.parse(r.getString("imageId")).signerId(),
        ImageId.parse(new JsonObject(again.out).getString("imageId")).signerId());

    CliRun noToken = cli("invoke", "greet", "--url", url, "--token", "", "--data", "x");
    assertEquals(1, noToken.code, noToken.toString());
    CliRun withToken = cli("invoke", "greet", "--url", url, "--token",
        r.getString("invokeToken"), "--data", "x");
    assertEquals("X", withToken.out, withToken.toString());
  }
}
