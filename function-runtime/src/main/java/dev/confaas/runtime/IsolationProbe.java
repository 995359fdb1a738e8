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
        Optional.empty(),
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
    Optional<Path> cgroup = probeCgroup(notes);
    return new IsolationReport(namespaces, netns.isPresent(), overlay, cgroup, notes);
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

  /** A writable cgroup v2 hierarchy whose controllers include memory and cpu. */
  private static Optional<Path> probeCgroup(List<String> notes) {
    List<Path> mounts = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
        String[] f = line.split(" ");
        if (f.length > 2 && f[2].equals("cgroup2")) {
          mounts.add(Path.of(f[1]));
        }
      }
    } catch (IOException e) {
      notes.add("cannot read /proc/self/mounts: " + e.getMessage() + "; no cgroup limits");
      return Optional.empty();
    }
    if (mounts.isEmpty()) {
      notes.add("no cgroup v2 hierarchy is mounted: no per-instance memory/CPU limits");
      return Optional.empty();
    }
    for (Path mount : mounts) {
      try {
        String controllers = Files.readString(mount.resolve("cgroup.controllers")).strip();
        List<String> have = List.of(controllers.split("\\s+"));
        if (!have.contains("memory") || !have.contains("cpu")) {
          notes.add("cgroup v2 at " + mount + " offers controllers [" + controllers
              + "] without memory and cpu (a hybrid host keeps them on cgroup v1): no per-instance"
              + " memory/CPU limits");
          continue;
        }
        Files.writeString(mount.resolve("cgroup.subtree_control"), "+memory +cpu");
        Path dir = mount.resolve("confaas-" + ProcessHandle.current().pid());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.subtree_control"), "+memory +cpu");
        return Optional.of(dir);
      } catch (IOException e) {
        notes.add("cgroup v2 at " + mount + " is not usable: " + e + ": no per-instance limits");
      }
    }
    return Optional.empty();
  }
}
