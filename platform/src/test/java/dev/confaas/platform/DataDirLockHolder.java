package dev.confaas.platform;

import java.nio.file.Path;
import java.time.Instant;

/**
 * A second process for {@link DataDirLockTest}: locks the data directory given as its argument as a
 * platform would, says "locked" on stdout, and holds the lock until its stdin closes.
 */
final class DataDirLockHolder {
  private DataDirLockHolder() {}

  public static void main(String[] args) throws Exception {
    try (DataDirLock lock = DataDirLock.acquire(Path.of(args[0]), Instant.now())) {
      lock.record("gatewayPort", "4242");
      lock.record("kafkaPort", "port 4343");
      System.out.println("locked");
      System.out.flush();
      while (System.in.read() >= 0) {
        // held until the test closes the pipe
      }
    } catch (DataDirLock.DataDirInUseException e) {
      System.out.println("refused: " + e.getMessage());
      System.exit(1);
    }
  }
}
