package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code confaas guest build} is wired under {@code guest} and refuses what it cannot build from,
 * saying what to do. Building a real image is tested in atd-pool ({@code GuestImageBuilderTest}).
 */
class GuestBuildCliTest {
  @TempDir Path tmp;

  @Test
  void aMissingKernelIsRefusedNamingIt() {
    Path kernel = tmp.resolve("no-such-vmlinuz");
    CliRun r =
        CliRun.of(
            "guest",
            "build",
            "--out",
            tmp.resolve("img").toString(),
            "--kernel",
            kernel.toString());
    assertEquals(1, r.code, r.toString());
    assertTrue(r.err.contains(kernel.toString()) && r.err.contains("does not exist"), r.toString());
    assertTrue(Files.notExists(tmp.resolve("img/initrd.img")), "nothing may be left as if built");
  }

  @Test
  void guestListsBuildNextToMeasure() {
    CliRun r = CliRun.of("guest", "--help");
    assertEquals(0, r.code, r.toString());
    assertTrue(r.out.contains("build") && r.out.contains("measure"), r.out);
  }
}
