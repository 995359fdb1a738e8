package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code confaas up --backend qemu-tdx} where QEMU cannot start TDX guests (this machine, CI, most
 * laptops): refused at once, saying what is missing, before anything is built or started.
 */
class PlatformQemuTdxTest {
  @TempDir Path data;

  @Test
  void aQemuWithoutTdxIsRefusedBeforeAnythingStarts() throws Exception {
    Path qemu = Path.of("/usr/bin/qemu-system-x86_64");
    Assumptions.assumeTrue(Files.isExecutable(qemu), "no qemu-system-x86_64 here");
    Process help = new ProcessBuilder(qemu.toString(), "-object", "help")
        .redirectErrorStream(true).start();
    String objects = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    help.waitFor();
    Assumptions.assumeFalse(objects.contains("tdx-guest"), "this QEMU can start TDX guests");

    Map<String, String> flags = Map.of("gateway.port", "0", "kafka.port", "0",
        "pool.backend", "qemu-tdx", "pool.qemu", qemu.toString());
    IOException e = assertThrows(IOException.class,
        () -> Platform.start(Settings.load(data, Map.of(), flags), line -> {}).close());
    String m = e.getMessage();
    assertTrue(m.contains("the qemu-tdx backend cannot run here"), m);
    assertTrue(m.contains("does not list tdx-guest"), m);
    assertTrue(m.contains("--backend qemu"), "the message names the way out: " + m);
    assertFalse(Files.exists(data.resolve("cache/guest")), "a guest image was built");
    assertFalse(Files.exists(data.resolve("kafka")), "Kafka was started");
    assertFalse(Platform.runningOn(data).isPresent(), "the data directory stayed locked");
  }

  @Test
  void aQemuThatIsNotThereIsNamedWithThePackageToInstall() {
    Map<String, String> flags = Map.of("gateway.port", "0", "kafka.port", "0",
        "pool.backend", "qemu-tdx", "pool.qemu", data.resolve("no-such-qemu").toString());
    IOException e = assertThrows(IOException.class,
        () -> Platform.start(Settings.load(data, Map.of(), flags), line -> {}).close());
    assertTrue(e.getMessage().contains("qemu-system-x86"), e.getMessage());
  }
}
