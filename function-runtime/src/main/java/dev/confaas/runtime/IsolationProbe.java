package dev.confaas.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Finds out, by trying, which isolation mechanisms this host allows. */
final class IsolationProbe {
  static final Path UNSHARE = Path.of("/usr/bin/unshare");

  private IsolationProbe() {}

  /** What instances get when isolation is turned off: nothing. */
  static IsolationReport none() {
    return new IsolationReport(
        false,
        false,
        false,
        MemoryLimit.none(),
        List.of("isolation is turned off in the agent's configuration: functions run as plain child"
            + " processes of the agent, as its user, on its filesystem and network"));
  }

  /**
   * Probes the host.
   *
   * @param netns the network-namespace launcher if one could be opened, else the reason it could not
   */
  static IsolationReport probe(Optional<NetNamespace> netns, String netnsFailure) {
    List<String> notes = new ArrayList<>();
    boolean namespaces = probeNamespaces(notes);
    if (netns.isEmpty()) {
      notes.add("no per-instance network namespace: " + netnsFailure
          + "; instances share the agent's network and reach the Runtime API on an ephemeral loopback port");
    }
    boolean overlay = false;
    try {
      overlay = Files.readString(Path.of("/proc/filesystems")).lines().anyMatch(l -> l.endsWith("\toverlay"));
    } catch (IOException e) {
      notes.add("cannot read /proc/filesystems: " + e.getMessage());
    }
    if (!overlay) {
      notes.add("kernel has no overlayfs: full root filesystems are bind-mounted read-only");
    }
    MemoryLimit memory = MemoryLimit.probe(MemoryLimit.Host.current(), notes);
    return new IsolationReport(namespaces, netns.isPresent(), overlay, memory, notes);
  }

  private static boolean probeNamespaces(List<String> notes) {
    if (!Files.isExecutable(UNSHARE)) {
      notes.add(UNSHARE + " (util-linux) is missing: instances run as plain child processes");
      return false;
    }
    try {
      Process p =
          new ProcessBuilder(
                  UNSHARE.toString(), "--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
                  "--propagation", "private", "--mount-proc", "--", "/bin/sh", "-c",
                  "mount -t tmpfs tmpfs /tmp && hostname confaas-probe")
              .redirectErrorStream(true)
              .start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        notes.add("namespace probe did not finish in 10 s: instances run as plain child processes");
        return false;
      }
      if (p.exitValue() != 0) {
        notes.add("unshare of mount/pid/ipc/uts namespaces failed (exit " + p.exitValue() + ": "
            + new String(out, StandardCharsets.UTF_8).strip()
            + "): instances run as plain child processes with no isolation");
        return false;
      }
      return true;
    } catch (IOException e) {
      notes.add("cannot run " + UNSHARE + ": " + e.getMessage());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
