package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.SigningKeys;
import dev.confaas.pool.guest.GuestImageBuilder;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's "done when" on the whole platform ({@link Platform}, as {@code confaas up --backend
 * qemu --pool-size 1} runs it): the platform builds the guest image, boots one QEMU guest (KVM if it
 * works here, else TCG), attests it, and serves the sample and a newly deployed shell function from
 * inside it; the host runs a QEMU process per TD and no agent JVM; killing QEMU mid-call fails that
 * call with {@code TD_LOST} and the pool boots a replacement. {@code pool.max} 1 keeps it to one
 * guest at a time: every function shares the one TD, and the replacement is the only second boot.
 * Nothing is mocked, and every limit is the backend's own, so a loaded machine makes this slow, not
 * failed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlatformOnQemuTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static PlatformFixture platform;

  static final Map<String, String> SETTINGS = Map.of(
      "gateway.port", "0",
      "kafka.port", "0",
      "pool.backend", "qemu",
      "pool.size", "1",
      "pool.max", "1",
      "pool.healthInterval", "5s");

  @BeforeAll
  static void up() throws Exception {
    boolean qemu = Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64"));
    boolean kernel = true;
    try {
      GuestImageBuilder.debianCloudKernel();
    } catch (java.io.IOException e) {
      kernel = false;
    }
    String why = "qemu-system-x86 or linux-image-cloud-amd64 is missing: run"
        + " bin/ensure-debian-packages --tests";
    if ("root".equals(System.getProperty("user.name"))) {
      assertTrue(qemu && kernel, why);
    }
    Assumptions.assumeTrue(qemu && kernel, why);
    // The backend's own limits (TCG: a boot of up to 15 min) bound the wait; the HTTP client waits
    // as long as a call may (a cold start on TCG: minutes).
    platform = PlatformFixture.start(data, SETTINGS, Duration.ofMinutes(20), Duration.ofMinutes(10));
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
    assertEquals(List.of(), qemuProcesses(), "QEMU processes outlived the platform");
  }

  @Test
  @Order(1)
  void thePlatformSaysWhichBackendAndAcceleratorAndSoDoesEachTd() {
    String accel = platform.platform.tdAccelerator();
    assertTrue(List.of("kvm", "tcg").contains(accel), accel);
    assertEquals("qemu", platform.platform.tdBackend());
    assertTrue(platform.progress.stream().anyMatch(l ->
            l.startsWith("qemu backend: each TD is a QEMU VM") && l.contains(accel.toUpperCase())),
        "start-up never said the backend and accelerator: " + platform.progress);
    JsonObject td = platform.tds().get(0);
    assertEquals("qemu", td.getString("backend"), td.encodePrettily());
    assertEquals(accel, td.getString("accelerator"), td.encodePrettily());
  }

  @Test
  @Order(2)
  void theSampleAnswersFromTheAttestedGuest() {
    HttpResponse<String> r = platform.invokeAnonymously(Platform.SAMPLE_FUNCTION, "ConFaaS");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().startsWith("Hello, ConFaaS!"), r.body());
    JsonObject td = platform.td(PlatformFixture.tdOf(r));
    assertEquals("qemu", td.getString("backend"), td.encodePrettily());
    assertTrue(td.getString("lastAttested") != null, td.encodePrettily());
  }

  @Test
  @Order(3)
  void aNewlyDeployedFunctionRunsOnTheGuestKernelNotTheHosts() throws Exception {
    platform.deployShell(work, "kernel", SigningKeys.generate("kate", Clock.systemUTC()),
        "cat >/dev/null\nuname -r", m -> {}, null);
    String release = platform.invokeOk("kernel", "which kernel?").body().strip();
    String guest = GuestImageBuilder.kernelRelease(GuestImageBuilder.debianCloudKernel())
        .orElseThrow();
    assertEquals(guest, release, "the function did not run on the guest's kernel");
    assertNotEquals(
        Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip(),
        release,
        "the function ran on the host's kernel");
  }

  @Test
  @Order(4)
  void theHostRunsOneQemuPerTdAndNoAgentJvm() {
    List<ProcessHandle> agents = ProcessHandle.current().descendants()
        .filter(p -> PlatformEndToEndTest.commandLine(p).contains("TdAgentMain"))
        .toList();
    assertEquals(List.of(), agents, "agent JVMs run on the host");
    long running = platform.tds().stream()
        .filter(t -> !t.getString("state").equals("STOPPED"))
        .count();
    assertEquals(running, qemuProcesses().size(),
        "one QEMU per TD: " + platform.tds() + " / " + qemuProcesses());
  }

  @Test
  @Order(5)
  void killingQemuMidCallFailsThatCallWithTdLostAndThePoolBootsAReplacement() throws Exception {
    platform.deployShell(work, "sleepy", SigningKeys.generate("sam", Clock.systemUTC()),
        "event=$(cat)\nif [ \"$event\" = slow ]; then sleep 300; fi\necho \"awake:$event\"",
        m -> {}, new JsonObject().put("name", "sleepy").put("timeoutMs", 600_000).encode());
    String td = PlatformFixture.tdOf(platform.invokeOk("sleepy", "warm"));

    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> platform.invoke("sleepy", "slow"));
    // The call is in the TD once the scheduler has it in flight on the warm instance (the guest's
    // processes are out of the host's sight; the shell runtime hands on a handler's stderr only
    // when it ends).
    platform.await("the slow call to be in flight to TD " + td, Duration.ofMinutes(5),
        () -> platform.get("/metrics").body().lines().anyMatch(l ->
            l.startsWith("confaas_scheduler_inflight{function=\"sleepy\"") && l.endsWith(" 1.0")));
    ProcessHandle qemu = qemuProcesses().stream()
        .filter(p -> PlatformEndToEndTest.commandLine(p).contains("confaas-" + td + " "))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no QEMU process of TD " + td));
    qemu.destroyForcibly();

    HttpResponse<String> failed = slow.get();
    assertEquals(502, failed.statusCode(), "a call whose TD died: " + failed.body());
    JsonObject problem = new JsonObject(failed.body());
    assertEquals("TD_LOST", problem.getString("reason"), failed.body());
    assertEquals(td, problem.getString("tdId"), failed.body());

    // pool.max is 1: a new TD boots once the lost one is gone.
    platform.await("the pool to boot a TD in place of " + td, Duration.ofMinutes(2),
        () -> platform.tds().stream().anyMatch(t ->
            !t.getString("id").equals(td) && !t.getString("state").equals("STOPPED")));
    platform.await("the QEMU of the replacement to run", Duration.ofMinutes(1),
        () -> qemuProcesses().stream()
            .anyMatch(p -> !PlatformEndToEndTest.commandLine(p).contains("confaas-" + td + " ")));
  }

  /** The QEMU processes this JVM started (under their wrapper shells). */
  static List<ProcessHandle> qemuProcesses() {
    return ProcessHandle.current().descendants()
        .filter(ProcessHandle::isAlive)
        .filter(p -> p.info().command().orElse("").endsWith("qemu-system-x86_64"))
        .toList();
  }
}
