package dev.confaas.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** One TD of the {@code process} backend: an agent JVM and its functions. */
final class ProcessTd extends ChildProcessLauncher.Td {

  ProcessTd(ProcessTdLauncher launcher, String id, Process process, Path dir, Duration stopGrace) {
    super(launcher, id, "none", process, dir, stopGrace);
  }

  /** The agent's OS process ID. */
  long pid() {
    return process.pid();
  }

  /**
   * SIGTERM (the agent's shutdown hook stops its instances), SIGKILL after the grace, then
   * whatever the agent left behind.
   */
  @Override
  void stop() throws InterruptedException {
    List<ProcessHandle> descendants = process.descendants().toList();
    terminate();
    // Whatever the agent left behind (it was killed, or an instance ignored it).
    ChildProcessLauncher.killAll(descendants);
    // An agent that died first (killed, crashed) left its instances to init: they are no longer
    // its descendants. They still name this TD's directory (their root, their state).
    strays().forEach(ProcessHandle::destroyForcibly);
  }

  /** Best effort: the unpacked layers of a stopped TD are garbage, its log is not. */
  @Override
  void afterStop() {
    Path root = dir().resolve("state");
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // Left for the pool directory's owner.
                }
              });
    } catch (IOException | java.io.UncheckedIOException ignored) {
      // As above.
    }
  }

  /**
   * Processes other than the agent whose command line or working directory lies in this TD's
   * directory (Linux {@code /proc}; none elsewhere).
   */
  private List<ProcessHandle> strays() {
    String inside = dir().toAbsolutePath().normalize() + "/";
    long self = ProcessHandle.current().pid();
    return ProcessHandle.allProcesses()
        .filter(p -> p.pid() != self && p.pid() != process.pid() && p.isAlive())
        .filter(
            p -> {
              Path proc = Path.of("/proc", Long.toString(p.pid()));
              try {
                String cmdline = Files.readString(proc.resolve("cmdline")).replace('\0', ' ');
                if (cmdline.contains(inside)) {
                  return true;
                }
                return (Files.readSymbolicLink(proc.resolve("cwd")) + "/").startsWith(inside);
              } catch (IOException | RuntimeException gone) {
                return false; // exited, or not ours to read
              }
            })
        .toList();
  }
}
