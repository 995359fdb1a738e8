package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.attestation.RtmrLog;
import dev.confaas.image.Manifest;
import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5's "done when", over real HTTP against the whole platform ({@link Platform}, as {@code
 * confaas up} runs it): real agent processes with simulated TDX, real signed images, the real
 * scheduler and pool. Nothing is mocked.
 */
class PlatformEndToEndTest {
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

  @Test
  void theSampleAnswersTheCurlLineAndNamesTheAttestedTdThatRanIt() {
    HttpResponse<String> r = platform.invokeAnonymously(Platform.SAMPLE_FUNCTION, "ConFaaS");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().startsWith("Hello, ConFaaS!"), "the sample answered: " + r.body());
    String tdId = PlatformFixture.tdOf(r);
    String imageId = PlatformFixture.imageOf(r);

    JsonObject td = platform.td(tdId);
    assertEquals("process", td.getString("backend"), td.encodePrettily());
    assertTrue(
        td.getJsonArray("loadedImages").contains(imageId),
        "the TD that answered does not list the image it ran: " + td.encodePrettily());
    assertTrue(td.getString("lastAttested") != null, "never attested: " + td.encodePrettily());
    // The pool re-attests after every load: the log it shows is the one a verified quote vouches
    // for, and it names the image.
    platform.await(
        "TD " + tdId + "'s RTMR3 log to name image " + imageId,
        Duration.ofSeconds(30),
        () ->
            platform
                .td(tdId)
                .getJsonArray("rtmr3Log")
                .contains(RtmrLog.ADD_MANIFEST_PREFIX + imageId));
    List<Object> log = platform.td(tdId).getJsonArray("rtmr3Log").getList();
    assertEquals(RtmrLog.INIT_LINE, log.get(0), "log: " + log);
  }

  /** Issue 13: a function sees the name, version and memory it was deployed with. */
  @Test
  void aFunctionSeesItsDeployedNameVersionAndMemoryAsLambdaVariables() throws Exception {
    SigningKeys dave = SigningKeys.generate("dave", Clock.systemUTC());
    String config = new JsonObject().put("name", "envprobe").put("memoryMb", 512).encode();
    platform.deployShell(work, "envprobe", dave, "cat >/dev/null\nenv", m -> {}, config);
    // A second deploy makes version 2: what the function sees is the version that runs.
    platform.deployShell(work, "envprobe", dave, "cat >/dev/null\nenv | sort", m -> {}, config);

    HttpResponse<String> r = platform.invokeOk("envprobe", "{}");
    java.util.Map<String, String> env = new java.util.TreeMap<>();
    for (String line : r.body().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        env.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    java.util.Map<String, String> expected = new java.util.TreeMap<>(java.util.Map.of(
        "AWS_LAMBDA_FUNCTION_NAME", "envprobe",
        "AWS_LAMBDA_FUNCTION_VERSION", "2",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512",
        "AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/envprobe",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand",
        "AWS_REGION", "confaas-local",
        "TZ", ":UTC"));
    java.util.Map<String, String> seen = new java.util.TreeMap<>(env);
    seen.keySet().retainAll(expected.keySet());
    assertEquals(expected, seen, "the function's environment: " + r.body());
    assertTrue(env.getOrDefault("AWS_LAMBDA_LOG_STREAM_NAME", "").matches("\\d{4}/\\d{2}/\\d{2}/\\[2\\]i-\\d+"),
        "AWS_LAMBDA_LOG_STREAM_NAME: " + env.get("AWS_LAMBDA_LOG_STREAM_NAME"));
  }

  @Test
  void functionsWhosePoliciesRefuseEachOtherNeverShareATdWhileOneSignersFunctionsDo()
      throws Exception {
    Clock clock = Clock.systemUTC();
    SigningKeys alice = SigningKeys.generate("alice", clock);
    SigningKeys bob = SigningKeys.generate("bob", clock);
    String vendor = platform.shellAlias().signerId().toString();
    // Each author accepts only the vendor's layers and their own images, and refuses the rest.
    Consumer<Manifest.Builder> onlyAlice =
        m -> m.accept(vendor + "/*").accept(alice.signerId() + "/*").rejectUnaccepted(true);
    Consumer<Manifest.Builder> onlyBob =
        m -> m.accept(vendor + "/*").accept(bob.signerId() + "/*").rejectUnaccepted(true);
    platform.deployShell(work, "alice-one", alice, "echo \"one:$(cat)\"", onlyAlice, null);
    platform.deployShell(work, "alice-two", alice, "echo \"two:$(cat)\"", onlyAlice, null);
    platform.deployShell(work, "bob-one", bob, "echo \"bob:$(cat)\"", onlyBob, null);

    HttpResponse<String> a1 = platform.invokeOk("alice-one", "x");
    HttpResponse<String> b1 = platform.invokeOk("bob-one", "y");
    HttpResponse<String> a2 = platform.invokeOk("alice-two", "z");
    assertEquals("one:x", a1.body().strip());
    assertEquals("bob:y", b1.body().strip());
    assertEquals("two:z", a2.body().strip());

    String aliceTd = PlatformFixture.tdOf(a1);
    String bobTd = PlatformFixture.tdOf(b1);
    assertNotEquals(aliceTd, bobTd, "alice's and bob's functions refuse each other but shared a TD");
    assertEquals(
        aliceTd, PlatformFixture.tdOf(a2), "two functions of one signer should be packed together");

    // And as the pool reports it: no TD holds an image of both.
    String aliceImage = PlatformFixture.imageOf(a1);
    String bobImage = PlatformFixture.imageOf(b1);
    for (JsonObject td : platform.tds()) {
      List<Object> loaded = td.getJsonArray("loadedImages").getList();
      assertFalse(
          loaded.contains(aliceImage) && loaded.contains(bobImage),
          "TD " + td.getString("id") + " holds both refusing images: " + loaded);
    }
    assertTrue(
        platform.td(aliceTd).getJsonArray("loadedImages").contains(PlatformFixture.imageOf(a2)));
  }

  @Test
  void killingATdMidInvocationFailsThatCallAndThePoolReplacesTheTd() throws Exception {
    Clock clock = Clock.systemUTC();
    SigningKeys carol = SigningKeys.generate("carol", clock);
    platform.deployShell(
        work,
        "sleepy",
        carol,
        "event=$(cat)\nif [ \"$event\" = slow ]; then sleep 120; fi\necho \"awake:$event\"",
        m -> {},
        new JsonObject().put("name", "sleepy").put("timeoutMs", 60_000).encode());
    String firstTd = PlatformFixture.tdOf(platform.invokeOk("sleepy", "warm"));

    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> platform.invoke("sleepy", "slow"));
    // The call is in the TD once its handler's `sleep 120` runs under that TD's agent.
    ProcessHandle agent = agentOf(firstTd);
    platform.await(
        "the slow invocation to be running in TD " + firstTd,
        Duration.ofSeconds(30),
        () -> agent.descendants().anyMatch(p -> commandLine(p).contains("sleep 120")));
    List<ProcessHandle> inside = agent.descendants().toList();
    agent.destroyForcibly(); // only the agent: the pool must clean up what ran in the TD

    HttpResponse<String> failed = slow.get();
    assertEquals(502, failed.statusCode(), "a call whose TD died: " + failed.body());
    JsonObject problem = new JsonObject(failed.body());
    assertEquals("application/problem+json",
        failed.headers().firstValue("Content-Type").orElse(null), failed.body());
    assertEquals("https://confaas.dev/problems/td-lost", problem.getString("type"), failed.body());
    assertEquals("TD_LOST", problem.getString("reason"), failed.body());
    assertEquals(firstTd, problem.getString("tdId"), failed.body());

    platform.await(
        "the pool to remove TD " + firstTd,
        Duration.ofSeconds(30),
        () ->
            platform.tds().stream()
                .noneMatch(
                    t ->
                        t.getString("id").equals(firstTd)
                            && !t.getString("state").equals("STOPPED")));
    platform.await(
        "the processes of the killed TD's function instance to be stopped",
        Duration.ofSeconds(30),
        () -> inside.stream().noneMatch(ProcessHandle::isAlive));
    HttpResponse<String> again = platform.invokeOk("sleepy", "after");
    assertEquals("awake:after", again.body().strip());
    String newTd = PlatformFixture.tdOf(again);
    assertNotEquals(firstTd, newTd, "the function ran on the TD that was killed");
    assertEquals("ACTIVE", platform.td(newTd).getString("state"));
  }

  /** The agent process of one TD: a child of this JVM started with that TD's directory. */
  static ProcessHandle agentOf(String tdId) {
    Optional<ProcessHandle> agent =
        ProcessHandle.current()
            .children()
            .filter(
                p -> {
                  String c = commandLine(p);
                  return c.contains("TdAgentMain") && c.contains("/" + tdId + "/");
                })
            .findFirst();
    return agent.orElseThrow(
        () ->
            new AssertionError(
                "no agent process for TD "
                    + tdId
                    + " among this JVM's children: "
                    + ProcessHandle.current()
                        .children()
                        .map(p -> p.pid() + " " + commandLine(p))
                        .toList()));
  }

  /** The whole command line ({@link ProcessHandle.Info} cuts long ones short). */
  static String commandLine(ProcessHandle p) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"))
          .replace('\0', ' ');
    } catch (IOException e) {
      return ""; // it exited meanwhile
    }
  }
}
