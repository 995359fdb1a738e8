package dev.confaas.platform;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The exclusive claim of one running platform on its data directory: {@code DATA/confaas.lock},
 * locked with an OS file lock ({@link FileChannel#tryLock()}) for as long as the platform runs, and
 * holding who holds it (PID, gateway port, Kafka port, start time) so a second start can say so.
 *
 * <p>Two platforms on one directory share the Kafka log, the pool's TD directories and the function
 * files; the second would corrupt the first's broker metadata. The OS drops the lock when the
 * holding process dies, even by {@code kill -9}, so a stale file never blocks a restart. The file is
 * never deleted: deleting it would let a third start lock a new file while the second still holds
 * the old one.
 */
final class DataDirLock implements AutoCloseable {
  static final String FILE_NAME = "confaas.lock";

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final Map<String, String> holder = new LinkedHashMap<>();

  private DataDirLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Locks {@code dataDir} for this process and records it as the holder.
   *
   * @throws DataDirInUseException when another platform (in this or another process) holds it; the
   *     message names that platform's PID and ports
   */
  static DataDirLock acquire(Path dataDir, Instant now) throws IOException {
    Path file = dataDir.resolve(FILE_NAME);
    FileChannel ch = FileChannel.open(
        file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException heldInThisJvm) {
      lock = null;
    } catch (IOException e) {
      ch.close();
      throw new IOException("cannot lock " + file + ": " + e.getMessage()
          + "; the data directory must be on a file system that supports file locks", e);
    }
    if (lock == null) {
      ch.close();
      throw new DataDirInUseException(dataDir, describe(readHolder(file)));
    }
    DataDirLock d = new DataDirLock(file, ch, lock);
    d.holder.put("pid", Long.toString(ProcessHandle.current().pid()));
    d.holder.put("started", now.toString());
    d.write();
    return d;
  }

  /**
   * Why {@code dataDir} cannot be used, when another platform holds it: a message naming that
   * platform's PID and ports and what to do. Empty when the directory is free (it stays free: the
   * probe lets go at once).
   */
  static Optional<String> holderOf(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock probe;
      try {
        probe = ch.tryLock();
      } catch (OverlappingFileLockException heldInThisJvm) {
        probe = null;
      }
      if (probe != null) {
        probe.release();
        return Optional.empty();
      }
      return Optional.of(inUse(dataDir, describe(readHolder(file))));
    } catch (IOException e) {
      return Optional.empty(); // the real acquire will say what is wrong
    }
  }

  /** Records a port once it is bound ({@code gatewayPort}, {@code kafkaPort}). */
  synchronized void record(String key, String value) {
    holder.put(key, value);
    try {
      write();
    } catch (IOException e) {
      // The lock still holds; only the message a second start prints is less complete.
    }
  }

  private synchronized void write() throws IOException {
    StringBuilder s = new StringBuilder();
    holder.forEach((k, v) -> s.append(k).append('=').append(v).append('\n'));
    channel.truncate(0);
    channel.write(ByteBuffer.wrap(s.toString().getBytes(StandardCharsets.UTF_8)), 0);
    channel.force(false);
  }

  private static Map<String, String> readHolder(Path file) {
    Map<String, String> m = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          m.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
        }
      }
    } catch (IOException e) {
      // described as unknown below
    }
    return m;
  }

  private static String describe(Map<String, String> h) {
    String pid = h.getOrDefault("pid", "unknown");
    return "PID " + pid
        + ", gateway port " + h.getOrDefault("gatewayPort", "not bound yet")
        + ", Kafka " + h.getOrDefault("kafkaPort", "not started yet")
        + (h.containsKey("started") ? ", started " + h.get("started") : "");
  }

  @Override
  public synchronized void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // closing the channel releases the lock whatever happened
    }
  }

  @Override
  public String toString() {
    return "lock " + file;
  }

  /** Another platform runs on the data directory. */
  static final class DataDirInUseException extends IOException {
    private static final long serialVersionUID = 1L;

    DataDirInUseException(Path dataDir, String holder) {
      super(inUse(dataDir, holder));
    }
  }

  private static String inUse(Path dataDir, String holder) {
    return "the data directory " + dataDir + " is in use by a running ConFaaS platform (" + holder
        + "); stop that one first (Ctrl-C, or kill -TERM its PID), or start this one with another"
        + " --data-dir";
  }
}
