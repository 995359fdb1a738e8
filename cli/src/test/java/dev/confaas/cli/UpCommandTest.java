package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code confaas up}'s settings: the help names them, flags map to keys, bad ones stop it. */
class UpCommandTest {
  @TempDir Path data;

  @Test
  void helpNamesTheSettingsFileAndTheEnvironmentRule() {
    CliRun r = CliRun.of("up", "--help");
    assertEquals(0, r.code, r::toString);
    assertTrue(r.out.contains("DATA_DIR/confaas.yaml"), r.out);
    assertTrue(r.out.contains("CONFAAS_<SECTION>_<KEY>"), r.out);
    assertTrue(r.out.contains("CONFAAS_POOL_SIZE"), r.out);
    assertTrue(r.out.contains("--print-settings"), r.out);
  }

  @Test
  void printSettingsShowsEveryKeyWithItsDefault() {
    CliRun r = CliRun.of("up", "--print-settings");
    assertEquals(0, r.code, r::toString);
    assertTrue(r.out.contains("pool:\n"), r.out);
    assertTrue(r.out.contains("  size: 2\n"), r.out);
    assertTrue(r.out.contains("  queueCapacity: 100\n"), r.out);
  }

  @Test
  void onlyTheFlagsGivenOverrideSettings() {
    UpCommand none = new UpCommand();
    new CommandLine(none).parseArgs();
    assertEquals(Map.of(), none.flags(), "flags not given must leave confaas.yaml in force");

    UpCommand all = new UpCommand();
    new CommandLine(all).parseArgs("--port", "9090", "--host", "0.0.0.0", "--kafka-port", "9092",
        "--bootstrap-servers", "k:9092", "--pool-size", "4", "--backend", "qemu", "--no-sample");
    assertEquals(
        Map.of("gateway.port", "9090", "gateway.host", "0.0.0.0", "kafka.port", "9092",
            "kafka.bootstrapServers", "k:9092", "pool.size", "4", "pool.backend", "qemu",
            "platform.deploySample", "false"),
        all.flags());
  }

  @Test
  void anUnknownKeyStopsTheStartAndNamesTheNearestOne() throws Exception {
    Files.writeString(data.resolve("confaas.yaml"), "pool:\n  sise: 3\n");
    CliRun r = CliRun.of("up", "--data-dir", data.toString(), "--port", "0");
    assertEquals(1, r.code, r::toString);
    assertTrue(r.err.contains("pool.sise: unknown key (confaas.yaml); did you mean pool.size?"),
        r.err);
    assertFalse(Files.exists(data.resolve("admin.token")), "nothing may start on bad settings");
  }

  /**
   * The Debian package check ({@code bin/confaas} names it in CONFAAS_ENSURE_PACKAGES) runs only
   * when the platform really starts, and a failed check stops the start before anything is built.
   */
  @Test
  void onlyARealStartChecksTheDebianPackages() throws Exception {
    Path checked = data.resolve("checked");
    Path check = data.resolve("ensure-debian-packages");
    Files.writeString(check, "#!/bin/sh\necho run >> '" + checked + "'\n"
        + "echo 'confaas: missing Debian packages: busybox-static' >&2\nexit 1\n");
    Files.setPosixFilePermissions(check, java.nio.file.attribute.PosixFilePermissions.fromString(
        "rwx------"));
    Path dir = data.resolve("platform");
    UpCommand.environment = () -> Map.of(
        UpCommand.ENSURE_PACKAGES, check.toString(), "CONFAAS_DATA_DIR", dir.toString());
    try {
      assertEquals(0, CliRun.of("up", "--help").code);
      assertEquals(0, CliRun.of("up", "--print-settings").code);
      assertEquals(1, CliRun.of("up", "--pool-size", "100").code);
      assertFalse(Files.exists(checked), "help, settings and bad settings need no packages");

      CliRun start = CliRun.of("up", "--port", "0");
      assertEquals(1, start.code, start.toString());
      assertEquals(List.of("run"), Files.readAllLines(checked));
      assertTrue(start.err.contains("confaas: missing Debian packages: busybox-static"), start.err);
      assertTrue(start.err.contains("could not start: the Debian packages the runtime layers are"
          + " built from are missing"), start.err);
      assertFalse(Files.exists(dir.resolve("admin.token")), "nothing may start without them");
    } finally {
      UpCommand.environment = System::getenv;
    }
  }

  @Test
  void aFlagOutOfRangeIsNamedAsTheCommandLines() {
    CliRun r = CliRun.of("up", "--data-dir", data.toString(), "--pool-size", "100");
    assertEquals(1, r.code, r::toString);
    assertTrue(
        r.err.contains("pool.size: must be between 1 and 64, was 100 (the command line)"), r.err);
  }

  @Test
  void anUnknownBackendIsRefusedNamingTheChoices() {
    CliRun r = CliRun.of("up", "--data-dir", data.toString(), "--backend", "firecracker");
    assertEquals(1, r.code, r::toString);
    assertTrue(r.err.contains("pool.backend: must be one of process, qemu, qemu-tdx, was"
        + " \"firecracker\" (the command line)"), r.err);
    assertFalse(Files.exists(data.resolve("admin.token")), "nothing may start on bad settings");
  }
}
