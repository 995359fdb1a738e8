package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, defect 2: a second platform on a data directory is refused before it touches
 * anything, with a message naming the running one's PID and ports; the lock holds across
 * processes and is gone with its holder.
 */
class DataDirLockTest {
  @TempDir Path data;

  @Test
  void aSecondLockInThisProcessIsRefusedNamingTheHolder() throws Exception {
    try (DataDirLock first = DataDirLock.acquire(data, Instant.parse("2025-01-02T03:04:05Z"))) {
      first.record("gatewayPort", "28080");
      DataDirLock.DataDirInUseException e = assertThrows(DataDirLock.DataDirInUseException.class,
          () -> DataDirLock.acquire(data, Instant.now()));
      assertTrue(e.getMessage().contains("PID " + ProcessHandle.current().pid()), e.getMessage());
      assertTrue(e.getMessage().contains("gateway port 28080"), e.getMessage());
      assertTrue(e.getMessage().contains("2025-01-02T03:04:05Z"), e.getMessage());
      assertTrue(Platform.runningOn(data).isPresent());
    }
    assertTrue(Platform.runningOn(data).isEmpty(), "a closed lock leaves the directory free");
    DataDirLock.acquire(data, Instant.now()).close();
  }

  @Test
  void aPlatformStartIsRefusedWhileAnotherProcessHoldsTheDirectoryAndNothingIsStarted()
      throws Exception {
    Process holder = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"),
            DataDirLockHolder.class.getName(), data.toString())
        .redirectErrorStream(true)
        .start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("locked", out.readLine(), "the holder process did not lock the directory");

      Settings settings = Settings.load(data, Map.of(), PlatformFixture.SETTINGS);
      List<String> progress = new java.util.ArrayList<>();
      java.io.IOException e = assertThrows(java.io.IOException.class,
          () -> Platform.start(settings, progress::add).close());
      String m = e.getMessage();
      assertTrue(m.contains("PID " + holder.pid()), m);
      assertTrue(m.contains("gateway port 4242"), m);
      assertTrue(m.contains("Kafka port 4343"), m);
      assertTrue(m.contains("--data-dir"), "says what to do: " + m);
      assertFalse(Files.exists(data.resolve("kafka")), "the refused start began a Kafka broker");
      assertFalse(Files.exists(data.resolve("pool")), "the refused start began a pool");
      assertTrue(Platform.runningOn(data).orElseThrow().contains("PID " + holder.pid()));
    } finally {
      holder.getOutputStream().close();
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS), "the holder did not exit");
    }
    assertTrue(Platform.runningOn(data).isEmpty(),
        "the lock outlived its process: " + Platform.runningOn(data));
  }
}
