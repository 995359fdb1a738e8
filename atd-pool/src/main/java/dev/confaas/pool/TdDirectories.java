package dev.confaas.pool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TD directories under a pool directory, across runs: which process runs each TD ({@code
 * agent.pid}: the agent JVM of a process TD, the QEMU wrapper of a VM) and which to delete when a
 * launcher starts, so restarts do not pile up directories without bound.
 */
final class TdDirectories {
  private static final Logger log = LoggerFactory.getLogger(TdDirectories.class);
  static final String PID_FILE = "agent.pid";
  /** Written into every TD directory at launch; what tells a TD directory from anything else. */
  static final String MARKER = "host-cert.pem";

  private TdDirectories() {}

  /** Notes which process is the TD, so a later run can tell whether it still runs. */
  static void recordPid(Path tdDir, long pid) {
    try {
      Files.writeString(tdDir.resolve(PID_FILE), Long.toString(pid), StandardCharsets.UTF_8);
    } catch (IOException e) {
      log.warn("cannot write {} in {}: {}", PID_FILE, tdDir, e.toString());
    }
  }

  /**
   * Deletes TD directories of earlier runs but the {@code keep} most recently used (by their
   * {@code agent.log} or {@code console.log}, else the directory's modification time). A directory
   * whose TD still runs is neither deleted nor counted.
   *
   * @return the directories deleted
   */
  static List<Path> pruneEarlierRuns(Path poolDir, int keep) {
    List<Path> tds = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(poolDir, Files::isDirectory)) {
      for (Path d : ds) {
        if (Files.isRegularFile(d.resolve(MARKER)) && !agentRuns(d)) {
          tds.add(d);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot list TD directories in {}: {}", poolDir, e.toString());
      return List.of();
    }
    tds.sort(Comparator.comparing(TdDirectories::lastUsed).reversed());
    List<Path> deleted = new ArrayList<>();
    for (Path d : tds.subList(Math.min(keep, tds.size()), tds.size())) {
      if (deleteTree(d)) {
        deleted.add(d);
      }
    }
    if (!deleted.isEmpty()) {
      log.info("deleted {} TD directories of earlier runs in {}, kept the newest {}",
          deleted.size(), poolDir, Math.min(keep, tds.size()));
    }
    return deleted;
  }

  private static boolean agentRuns(Path tdDir) {
    try {
      long pid = Long.parseLong(Files.readString(tdDir.resolve(PID_FILE)).trim());
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    } catch (IOException | NumberFormatException noPid) {
      return false; // written by a launcher before agent.pid existed, or never started
    }
  }

  private static FileTime lastUsed(Path tdDir) {
    for (Path p : List.of(tdDir.resolve("agent.log"), tdDir.resolve("console.log"), tdDir)) {
      try {
        return Files.getLastModifiedTime(p);
      } catch (IOException gone) {
        // next candidate
      }
    }
    return FileTime.fromMillis(0);
  }

  private static boolean deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
      return true;
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot delete old TD directory {}: {}", root, e.toString());
      return false;
    }
  }
}
