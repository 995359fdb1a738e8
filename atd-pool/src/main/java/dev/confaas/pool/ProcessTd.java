package dev.confaas.pool;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** One TD of the {@code process} backend: an agent JVM and its functions. */
final class ProcessTd implements LaunchedTd {
  private final String id;
  private final Process process;
  private final Path dir;
  private final Duration stopGrace;
  private final Consumer<ProcessTd> onClose;
  private volatile String target;
  private boolean closed;

  ProcessTd(String id, Process process, Path dir, Duration stopGrace, Consumer<ProcessTd> onClose) {
    this.id = id;
    this.process = process;
    this.dir = dir;
    this.stopGrace = stopGrace;
    this.onClose = onClose;
  }

  void serving(String target) {
    this.target = target;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String backend() {
    return "process";
  }

  @Override
  public String agentTarget() {
    return target;
  }

  /** The agent's OS process ID. */
  long pid() {
    return process.pid();
  }

  Path dir() {
    return dir;
  }

  @Override
  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      var descendants = process.descendants().toList();
      process.destroy(); // SIGTERM: the agent's shutdown hook stops its instances
      boolean exited = process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
        process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS);
      }
      // Whatever the agent left behind (it was killed, or an instance ignored it).
      descendants.forEach(
          p -> {
            if (p.isAlive()) {
              p.destroyForcibly();
            }
          });
      // An agent that died first (killed, crashed) left its instances to init: they are no longer
      // its descendants. They still name this TD's directory (their root, their state).
      strays().forEach(ProcessHandle::destroyForcibly);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      try {
        process.getOutputStream().close();
      } catch (IOException ignored) {
        // The pipe is gone with the process.
      }
      deleteTree(dir.resolve("state"));
      onClose.accept(this);
    }
  }

  /**
   * Processes other than the agent whose command line or working directory lies in this TD's
   * directory (Linux {@code /proc}; none elsewhere).
   */
  private java.util.List<ProcessHandle> strays() {
    String inside = dir.toAbsolutePath().normalize() + "/";
    long self = ProcessHandle.current().pid();
    return ProcessHandle.allProcesses()
        .filter(p -> p.pid() != self && p.pid() != process.pid() && p.isAlive())
        .filter(
            p -> {
              Path proc = Path.of("/proc", Long.toString(p.pid()));
              try {
                String cmdline =
                    java.nio.file.Files.readString(proc.resolve("cmdline"))
                        .replace('\0', ' ');
                if (cmdline.contains(inside)) {
                  return true;
                }
                return (java.nio.file.Files.readSymbolicLink(proc.resolve("cwd")) + "/")
                    .startsWith(inside);
              } catch (IOException | RuntimeException gone) {
                return false; // exited, or not ours to read
              }
            })
        .toList();
  }

  /** Best effort: the unpacked layers of a stopped TD are garbage, its log is not. */
  private static void deleteTree(Path root) {
    if (!java.nio.file.Files.exists(root)) {
      return;
    }
    try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  java.nio.file.Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // Left for the pool directory's owner.
                }
              });
    } catch (IOException | java.io.UncheckedIOException ignored) {
      // As above.
    }
  }

  @Override
  public String toString() {
    return "process TD " + id + " (pid " + process.pid() + ", " + target + ")";
  }
}
