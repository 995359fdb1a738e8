package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SigningKeys;
import dev.confaas.pool.guest.GuestImage;
import dev.confaas.pool.guest.GuestImageBuilder;
import dev.confaas.pool.guest.TestGuestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code qemu} backend on a real guest: QEMU (KVM if it works here, else TCG) boots the guest
 * image built from this build's agent and the host's packages; the agent in it attests with the
 * simulated TDX module and the host's {@link QuoteTdAttestor} accepts it against the MRTD it
 * computed from the image; a shell function runs inside the guest and sees the guest's kernel; and
 * killing QEMU is a TD loss. Every limit is the backend's ({@link TdTimeouts}), generous on TCG, so
 * a loaded machine makes the test slow, not failed. One guest for the whole class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QemuBackendTest {
  @TempDir static Path tmp;
  private static GuestImage image;
  private static QemuTdLauncher launcher;
  private static LaunchedTd launched;
  private static AttestedTd td;
  private static TdTimeouts timeouts;

  @BeforeAll
  static void boot() throws Exception {
    image = TestGuestImages.image();
    QemuTdLauncher.Config config = QemuTdLauncher.Config.defaults(tmp.resolve("pool"), image);
    String accel = QemuTdLauncher.chooseAccelerator(config); // the KVM probe is not boot time
    timeouts = TdTimeouts.of("qemu", accel);
    launcher = new QemuTdLauncher(config.forAccelerator(accel, timeouts));
    long start = System.nanoTime();
    launched = launcher.launch("qemu-td-1");
    long booted = System.nanoTime();
    td = launcher.attestor(timeouts.attest()).attest(launched);
    long attested = System.nanoTime();
    System.out.printf(
        "qemu TD on %s: agent serving after %d ms, attested after %d ms%n",
        accel, (booted - start) / 1_000_000, (attested - start) / 1_000_000);
  }

  @AfterAll
  static void shutDown() {
    if (td != null) {
      td.close();
    }
    if (launcher != null) {
      launcher.close();
    }
  }

  @Test
  @Order(1)
  void theGuestAttestsWithTheMrtdOfTheImage() throws Exception {
    QuoteVerification v = td.verification();
    assertTrue(v.verified(), v.message());
    assertTrue(v.simulated(), "a qemu-backend quote without TDX must be marked simulated");
    assertArrayEquals(launcher.expectedMrTd(), v.measurements().orElseThrow().mrTd());
    assertEquals(List.of(), td.rtmr3Log());
    assertEquals("qemu", td.backend());
    assertTrue(List.of("kvm", "tcg").contains(launcher.accelerator()), launcher.accelerator());
    assertEquals(launcher.accelerator(), ((QemuTd) launched).accelerator());
    String console = Files.readString(tmp.resolve("pool/qemu-td-1/console.log"));
    assertTrue(console.contains("attesting with the SIMULATED TDX module"), console);
  }

  @Test
  @Order(2)
  void inspectAnswersOverThePinnedChannel() {
    InspectResponse r =
        TestImages.await(
            td.agent()
                .withConfig(td.agent().config().withInspect(timeouts.inspect()))
                .inspect(InspectRequest.getDefaultInstance()));
    assertEquals(0, r.getImagesCount(), "a fresh TD has no images: " + r);
  }

  /**
   * A Ctrl-C at the terminal signals the whole foreground process group: QEMU must not be in it,
   * or it dies before the owner drains its calls (it was: the wrapper shell and QEMU stayed in this
   * JVM's group and session).
   */
  @Test
  @Order(2)
  void qemuRunsInASessionOfItsOwn() throws Exception {
    ProcessHandle qemu = ((QemuTd) launched).qemu().orElseThrow();
    long ours = sessionOf(ProcessHandle.current().pid());
    assertNotEquals(ours, sessionOf(qemu.pid()), "QEMU is in this JVM's session");
    assertNotEquals(
        processGroupOf(ProcessHandle.current().pid()),
        processGroupOf(qemu.pid()),
        "QEMU is in this JVM's process group");
  }

  /** Field 6 of /proc/PID/stat: the session ID. */
  private static long sessionOf(long pid) throws Exception {
    return statField(pid, 6);
  }

  /** Field 5 of /proc/PID/stat: the process group ID. */
  private static long processGroupOf(long pid) throws Exception {
    return statField(pid, 5);
  }

  private static long statField(long pid, int field) throws Exception {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(rest[field - 3]);
  }

  @Test
  @Order(3)
  void aShellFunctionRunsInsideTheGuestKernel() throws Exception {
    Clock clock = Clock.systemUTC();
    SigningKeys vendor = SigningKeys.generate("vendor", clock);
    SigningKeys author = SigningKeys.generate("author", clock);
    Path rootfsTar = TestImages.tar(TestImages.hostRootfs(tmp.resolve("rootfs")));
    Digest rootfs = TestImages.digest(rootfsTar);
    NameSvn name = NameSvn.parse("ShellRuntime:1");
    Manifest vendorManifest =
        Manifest.builder().addLayer(rootfs).contentAlias(rootfs, name).maxInstances(0).build();
    // Loading and starting take the backend's load limit (under TCG the guest unpacks and hashes
    // slowly), the first Invoke the function's init too.
    AgentClient agent =
        td.agent()
            .withConfig(td.agent().config().withLoad(timeouts.load()).withStart(timeouts.load()));
    TestImages.addManifest(agent, vendor, vendorManifest);
    TestImages.addBlob(agent, rootfsTar);
    Path fnTar =
        TestImages.tar(
            TestImages.functionLayer(
                Files.createTempDirectory(tmp, "fn"), "  OUT=$(cat /proc/sys/kernel/osrelease)"));
    Digest fn = TestImages.digest(fnTar);
    Manifest m =
        Manifest.builder()
            .addLayer(AliasRef.of(vendor.signerId(), name))
            .addLayer(fn)
            .entrypoint("/bin/sh", "/app/bootstrap")
            .workingDir("/app")
            .maxInstances(1)
            .build();
    AddManifestResponse added = TestImages.addManifest(agent, author, m);
    TestImages.addBlob(agent, fnTar);
    Duration invokeLimit = Duration.ofSeconds(60).plus(timeouts.invokeGrace());
    InvokeResponse r =
        TestImages.await(
            agent.invoke(
                InvokeRequest.newBuilder()
                    .setImageId(added.getImageId())
                    .setPayload(ByteString.copyFromUtf8("which kernel?"))
                    .setTimeoutMs(60_000)
                    .build(),
                invokeLimit),
            invokeLimit.plusSeconds(10));
    String release = r.getPayload().toStringUtf8().strip();
    assertEquals(
        GuestImageBuilder.kernelRelease(image.kernel()).orElseThrow(), release, r.toString());
    assertNotEquals(
        Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip(),
        release,
        "the function ran on the host's kernel");
  }

  @Test
  @Order(4)
  void killingQemuIsATdLoss() throws Exception {
    assertTrue(td.isAlive());
    ProcessHandle qemu = ((QemuTd) launched).qemu().orElseThrow();
    assertTrue(
        qemu.info().command().orElse("").contains("qemu-system-x86_64"),
        "the PID file names " + qemu.info());
    qemu.destroyForcibly();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (td.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertFalse(td.isAlive(), "the TD is still alive 10 s after its QEMU was killed");
  }
}
