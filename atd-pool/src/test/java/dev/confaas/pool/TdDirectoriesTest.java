package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, "stopped TDs' directories are never cleaned" (24 after 4 restarts): a launcher starting
 * on a pool directory deletes the TD directories of earlier runs beyond the newest {@value
 * ProcessTdLauncher#KEPT_TD_DIRS}, and never one whose agent still runs or anything that is not a
 * TD directory.
 */
class TdDirectoriesTest {
  @TempDir Path pool;

  /** A TD directory as a stopped TD leaves it, last used {@code minutesAgo}. */
  private Path stoppedTd(String id, int minutesAgo) throws IOException {
    Path d = Files.createDirectories(pool.resolve(id));
    Files.writeString(d.resolve(TdDirectories.MARKER), "cert");
    Path log = d.resolve("agent.log");
    Files.writeString(log, "agent " + id + " stopped\n");
    Files.setLastModifiedTime(log, FileTime.from(Instant.now().minusSeconds(60L * minutesAgo)));
    return d;
  }

  private Set<String> left() throws IOException {
    try (Stream<Path> s = Files.list(pool)) {
      return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void aLauncherKeepsTheNewestTdDirectoriesOfEarlierRunsOnly() throws IOException {
    // Four earlier runs of six TDs each; run 1 is the oldest.
    for (int run = 1; run <= 4; run++) {
      for (int td = 1; td <= 6; td++) {
        stoppedTd("process-run" + run + "-" + td, 100 - run * 10 - td);
      }
    }
    // Not TD directories: the dev PKI, and a directory without the marker.
    Files.createDirectories(pool.resolve("simulated-pki"));
    Files.createDirectories(pool.resolve("notes"));
    // An old directory whose agent still runs (this JVM stands in for it).
    Path running = stoppedTd("process-other-1", 1000);
    TdDirectories.recordPid(running, ProcessHandle.current().pid());

    new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(pool)).close();

    Set<String> left = left();
    assertTrue(left.contains("simulated-pki"), "the PKI was deleted: " + left);
    assertTrue(left.contains("notes"), "a directory that is no TD's was deleted: " + left);
    assertTrue(left.contains("process-other-1"), "a running TD's directory was deleted: " + left);
    List<String> tds = left.stream().filter(n -> n.startsWith("process-run")).toList();
    assertEquals(ProcessTdLauncher.KEPT_TD_DIRS, tds.size(), "kept: " + tds);
    // The newest 16 of 24 are runs 4, 3 and the newest four of run 2.
    for (int td = 1; td <= 6; td++) {
      assertTrue(left.contains("process-run4-" + td), left.toString());
      assertTrue(left.contains("process-run3-" + td), left.toString());
      assertTrue(!left.contains("process-run1-" + td), left.toString());
    }
    assertTrue(!left.contains("process-run2-2") && left.contains("process-run2-3"), left.toString());
  }

  @Test
  void fewerThanTheKeptCountAreAllKept() throws IOException {
    stoppedTd("process-a-1", 5);
    stoppedTd("process-a-2", 500_000);
    assertEquals(List.of(), TdDirectories.pruneEarlierRuns(pool, 16));
    assertEquals(Set.of("process-a-1", "process-a-2"), left());
  }
}
