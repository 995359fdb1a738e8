package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An instance whose root is a whole root filesystem (as merged image layers will be): it is
 * chrooted into a per-instance overlay and sees none of the agent's files.
 */
class FullRootfsTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;
  private static Path rootfs;

  /** Builds a real minimal rootfs: sh, curl and a few tools with the libraries ldd names. */
  @BeforeAll
  static void start() throws Exception {
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
    rootfs = Files.createDirectories(tmp.resolve("rootfs"));
    Files.setPosixFilePermissions(rootfs, PosixFilePermissions.fromString("rwxr-xr-x"));
    Process p =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "set -eu; root=$1; shift; for b in \"$@\"; do p=$(command -v \"$b\");"
                    + " mkdir -p \"$root/bin\"; cp -L \"$p\" \"$root/bin/$b\";"
                    + " ldd \"$p\" | grep -o '/[^ ]*' | while read -r lib; do"
                    + " mkdir -p \"$root$(dirname \"$lib\")\"; cp -L \"$lib\" \"$root$lib\"; done; done",
                "mkroot", rootfs.toString(), "sh", "curl", "cat", "tr", "grep", "cut", "ls", "sleep", "mktemp", "mkdir")
            .inheritIO()
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "could not build the test rootfs");
    Path app = ShellRuntime.write(rootfs, "app",
        String.join(
            "\n",
            "  case \"$EVENT\" in",
            "    write) if echo data > /marker 2>/dev/null; then OUT=wrote; else OUT=refused; fi ;;",
            "    look) if [ -e /marker ]; then OUT=present; else OUT=absent; fi",
            "          OUT=\"$OUT $(ls /) $([ -e /usr/bin ] && echo agent-usr-visible)\" ;;",
            "  esac"));
    assertTrue(Files.isExecutable(app.resolve("bootstrap")));
  }

  @AfterAll
  static void stop() {
    supervisor.close();
  }

  private static String call(String instanceId, String event) throws Exception {
    InstanceOutcome r =
        supervisor
            .invokeInstance(instanceId, Invocation.of(event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10)))
            .get(60, TimeUnit.SECONDS);
    assertTrue(r.succeeded(), "invocation failed: " + r.failure());
    return new String(r.payload(), StandardCharsets.UTF_8);
  }

  @Test
  void writesStayInTheInstancesOwnLayer() throws Exception {
    assumeTrue(supervisor.isolation().namespaces(), "this host allows no namespaces");
    FunctionSpec spec =
        FunctionSpec.builder("rootfs-rw", rootfs, List.of("/bin/sh", "/app/bootstrap"))
            .workingDir("/app")
            .writableFs(true)
            .maxInstances(2)
            .build();
    assertEquals(FunctionSpec.RootLayout.FULL_ROOTFS, spec.layout());
    String a = supervisor.startInstance(spec, List.of());
    String b = supervisor.startInstance(spec, List.of());
    assertEquals("wrote", call(a, "write"));
    String seenByA = call(a, "look");
    assertTrue(seenByA.startsWith("present "), seenByA);
    assertFalse(seenByA.contains("agent-usr-visible"), "the agent's /usr leaked in: " + seenByA);
    assertTrue(call(b, "look").startsWith("absent "), "instances must not share writes");
    assertFalse(Files.exists(rootfs.resolve("marker")), "a write reached the shared image");
    try (Stream<Path> s = Files.list(rootfs)) {
      assertEquals(List.of("app", "bin", "lib", "lib64"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void aReadOnlyImageRefusesWrites() throws Exception {
    assumeTrue(supervisor.isolation().namespaces(), "this host allows no namespaces");
    FunctionSpec spec =
        FunctionSpec.builder("rootfs-ro", rootfs, List.of("/bin/sh", "/app/bootstrap"))
            .workingDir("/app")
            .build();
    String id = supervisor.startInstance(spec, List.of());
    assertEquals("refused", call(id, "write"));
  }
}
