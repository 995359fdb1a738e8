package dev.confaas.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How the agent holds each function instance to its memory size ({@code
 * AWS_LAMBDA_FUNCTION_MEMORY_SIZE}), chosen once at start-up by looking at what the host offers,
 * best first:
 *
 * <ol>
 *   <li>{@link Mechanism#CGROUP_V2}: the agent's own cgroup on a cgroup2 hierarchy has the memory
 *       controller and the agent may make children there (delegated); each instance gets a child
 *       with {@code memory.max} = its size and {@code memory.swap.max} = 0 (and {@code cpu.max},
 *       1 vCPU per 1769 MB as Lambda, when the cpu controller is there too).
 *   <li>{@link Mechanism#CGROUP_V1}: a writable cgroup v1 memory hierarchy; each instance gets a
 *       child with {@code memory.limit_in_bytes} (and {@code memory.memsw.limit_in_bytes}).
 *   <li>{@link Mechanism#RLIMIT_AS}: no usable cgroup, but util-linux {@code prlimit}: the
 *       instance's processes get an address-space limit of its size. Weaker: it bounds what a
 *       process maps, not what the instance uses (runtimes that reserve more address space than
 *       they touch, such as a JVM, need flags that shrink their reservations).
 *   <li>{@link Mechanism#NONE}: nothing; the report says why.
 * </ol>
 *
 * With a cgroup, what an instance writes to its tmpfs {@code /tmp} is charged to it as well, so
 * memory and {@code /tmp} together stay within the size; with the others {@code /tmp} is bounded by
 * its own tmpfs size (the launcher sizes it to the memory size in every case). A cgroup that ran out
 * and had a process killed by the kernel says so ({@link Instance#outOfMemory()}), and the
 * invocation fails with {@code Runtime.OutOfMemory}.
 */
final class MemoryLimit {
  /** The ways an instance's memory can be held to its size, best first. */
  enum Mechanism {
    CGROUP_V2("cgroup v2 (memory.max)"),
    CGROUP_V1("cgroup v1 (memory.limit_in_bytes)"),
    RLIMIT_AS("RLIMIT_AS (prlimit --as; bounds each process's address space, not /tmp)"),
    NONE("none");

    private final String label;

    Mechanism(String label) {
      this.label = label;
    }

    String label() {
      return label;
    }
  }

  /** What the probe reads; the real host's files, or a test's. */
  record Host(Path procSelfCgroup, Path procSelfMounts, boolean prlimitAvailable, long pid) {
    static Host current() {
      return new Host(
          Path.of("/proc/self/cgroup"),
          Path.of("/proc/self/mounts"),
          Files.isExecutable(Path.of("/usr/bin/prlimit")) || Files.isExecutable(Path.of("/bin/prlimit")),
          ProcessHandle.current().pid());
    }
  }

  private static final long MB = 1024L * 1024L;

  private final Mechanism mechanism;
  private final Path parent; // where instance cgroups are made; null without a cgroup
  private final boolean cpu;

  private MemoryLimit(Mechanism mechanism, Path parent, boolean cpu) {
    this.mechanism = mechanism;
    this.parent = parent;
    this.cpu = cpu;
  }

  /** No limit: isolation is off, or nothing on the host could give one. */
  static MemoryLimit none() {
    return new MemoryLimit(Mechanism.NONE, null, false);
  }

  /**
   * Chooses the best mechanism {@code host} offers; each one passed over is explained in {@code
   * notes}. Creates the agent's own cgroup directory when a cgroup is chosen.
   */
  static MemoryLimit probe(Host host, List<String> notes) {
    List<String[]> mounts = new ArrayList<>();
    List<String> memberships = List.of();
    try {
      for (String line : Files.readAllLines(host.procSelfMounts())) {
        String[] f = line.split(" ");
        if (f.length > 3) {
          mounts.add(f);
        }
      }
      memberships = Files.readAllLines(host.procSelfCgroup());
    } catch (IOException e) {
      notes.add("cannot read " + host.procSelfMounts() + " or " + host.procSelfCgroup() + ": " + e);
    }
    Optional<MemoryLimit> v2 = cgroupV2(mounts, memberships, host.pid(), notes);
    if (v2.isPresent()) {
      return v2.get();
    }
    Optional<MemoryLimit> v1 = cgroupV1(mounts, memberships, host.pid(), notes);
    if (v1.isPresent()) {
      return v1.get();
    }
    if (host.prlimitAvailable()) {
      notes.add("no usable memory cgroup: memory limited per process with RLIMIT_AS (prlimit --as)"
          + " and /tmp by its tmpfs size");
      return new MemoryLimit(Mechanism.RLIMIT_AS, null, false);
    }
    notes.add("no usable memory cgroup and no prlimit (util-linux): function memory is NOT limited"
        + " (only /tmp, by its tmpfs size)");
    return none();
  }

  private static Optional<MemoryLimit> cgroupV2(
      List<String[]> mounts, List<String> memberships, long pid, List<String> notes) {
    String own = null;
    for (String m : memberships) {
      if (m.startsWith("0::")) {
        own = m.substring(3);
      }
    }
    for (String[] f : mounts) {
      if (!f[2].equals("cgroup2")) {
        continue;
      }
      if (own == null) {
        notes.add("cgroup v2 is mounted at " + f[1] + " but this process is in no cgroup v2 group");
        continue;
      }
      Path base = under(Path.of(f[1]), own);
      try {
        List<String> controllers = words(base.resolve("cgroup.controllers"));
        if (!controllers.contains("memory")) {
          notes.add("cgroup v2 at " + base + " offers [" + String.join(" ", controllers)
              + "] without memory (a hybrid host keeps it on cgroup v1)");
          continue;
        }
        boolean withCpu = controllers.contains("cpu");
        String enable = withCpu ? "+memory +cpu" : "+memory";
        Path agentDir = base.resolve(groupName(pid));
        try {
          Files.writeString(base.resolve("cgroup.subtree_control"), enable);
        } catch (IOException busy) {
          // "No internal processes": a non-root cgroup holding processes cannot hand controllers
          // down. Move the agent into a leaf of its own first, as container runtimes do.
          Path leaf = Files.createDirectories(base.resolve("confaas-agent-" + pid));
          Files.writeString(leaf.resolve("cgroup.procs"), Long.toString(pid));
          Files.writeString(base.resolve("cgroup.subtree_control"), enable);
        }
        sweepStale(base);
        Files.createDirectories(agentDir);
        Files.writeString(agentDir.resolve("cgroup.subtree_control"), enable);
        return Optional.of(new MemoryLimit(Mechanism.CGROUP_V2, agentDir, withCpu));
      } catch (IOException e) {
        notes.add("cgroup v2 at " + base + " is not delegated to the agent: " + e);
      }
    }
    return Optional.empty();
  }

  private static Optional<MemoryLimit> cgroupV1(
      List<String[]> mounts, List<String> memberships, long pid, List<String> notes) {
    String own = null;
    for (String m : memberships) {
      String[] f = m.split(":", 3);
      if (f.length == 3 && List.of(f[1].split(",")).contains("memory")) {
        own = f[2];
      }
    }
    for (String[] f : mounts) {
      if (!f[2].equals("cgroup") || !List.of(f[3].split(",")).contains("memory")) {
        continue;
      }
      Path base = own == null ? Path.of(f[1]) : under(Path.of(f[1]), own);
      Path agentDir = base.resolve(groupName(pid));
      try {
        if (!Files.exists(base.resolve("memory.limit_in_bytes"))) {
          throw new IOException(base + " has no memory.limit_in_bytes");
        }
        sweepStale(base);
        Files.createDirectories(agentDir);
        return Optional.of(new MemoryLimit(Mechanism.CGROUP_V1, agentDir, false));
      } catch (IOException e) {
        notes.add("cgroup v1 memory at " + base + " is not writable by the agent: " + e);
      }
    }
    return Optional.empty();
  }

  /**
   * The agent's own group: named by its PID (so a later agent can tell it is stale) and a number,
   * as one JVM may run several supervisors (tests do), each with instances i-1, i-2, ...
   */
  private static String groupName(long pid) {
    return "confaas-" + pid + "-" + GROUPS.incrementAndGet();
  }

  private static final java.util.concurrent.atomic.AtomicLong GROUPS =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * Removes the groups of agents that are gone (killed without closing: on the {@code process}
   * backend several agents share one parent). Only empty groups can be removed; others stay.
   */
  private static void sweepStale(Path base) {
    try (var dirs = Files.newDirectoryStream(base, "confaas-[0-9]*")) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString().substring("confaas-".length());
        int dash = name.indexOf('-');
        long owner = Long.parseLong(dash < 0 ? name : name.substring(0, dash));
        if (ProcessHandle.of(owner).isPresent() || !Files.isDirectory(dir)) {
          continue;
        }
        try (var instances = Files.newDirectoryStream(dir, "i-*")) {
          for (Path i : instances) {
            deleteQuietly(i);
          }
        }
        deleteQuietly(dir);
      }
    } catch (IOException | NumberFormatException | java.nio.file.DirectoryIteratorException e) {
      // best effort: a leftover empty group costs nothing but a name
    }
  }

  /** {@code mount} joined with a cgroup path as /proc/self/cgroup gives it (absolute). */
  private static Path under(Path mount, String cgroupPath) {
    String rel = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
    return rel.isEmpty() ? mount : mount.resolve(rel);
  }

  private static List<String> words(Path file) throws IOException {
    String s = Files.readString(file).strip();
    return s.isEmpty() ? List.of() : List.of(s.split("\\s+"));
  }

  Mechanism mechanism() {
    return mechanism;
  }

  /** Where instance cgroups are made; empty without a cgroup. */
  Optional<Path> cgroupParent() {
    return Optional.ofNullable(parent);
  }

  /** Removes the agent's own cgroup directory once its instances' are gone. */
  void close() {
    if (parent != null) {
      deleteQuietly(parent);
    }
  }

  /** One line for the isolation report. */
  String describe() {
    return mechanism.label() + (parent == null ? "" : " under " + parent)
        + (mechanism == Mechanism.CGROUP_V2 && cpu ? ", with cpu.max" : "");
  }

  /**
   * Makes the limit of one instance: its cgroup, when there is one, with its limits written.
   *
   * @throws IOException when the instance's cgroup cannot be made or limited (the instance must
   *     then not start: it would run without the limit the report promised)
   */
  Instance forInstance(String instanceId, int memoryMb) throws IOException {
    long bytes = memoryMb * MB;
    if (parent == null) {
      return new Instance(mechanism, null, bytes, memoryMb);
    }
    Path dir = parent.resolve(instanceId);
    Files.createDirectories(dir);
    try {
      if (mechanism == Mechanism.CGROUP_V2) {
        Files.writeString(dir.resolve("memory.max"), Long.toString(bytes));
        writeIfPresent(dir.resolve("memory.swap.max"), "0");
        // Out of memory ends the instance as a whole, not just its largest process.
        writeIfPresent(dir.resolve("memory.oom.group"), "1");
        if (cpu) {
          // Lambda gives one vCPU per 1769 MB; never less than a tenth of one.
          long quota = Math.max(10_000L, memoryMb * 100_000L / 1769);
          Files.writeString(dir.resolve("cpu.max"), quota + " 100000");
        }
      } else {
        Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
        writeIfPresent(dir.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
      }
    } catch (IOException e) {
      deleteQuietly(dir);
      throw e;
    }
    return new Instance(mechanism, dir, bytes, memoryMb);
  }

  private static void writeIfPresent(Path file, String value) {
    if (!Files.exists(file)) {
      return; // a kernel without swap accounting; the memory limit still holds
    }
    try {
      Files.writeString(file, value);
    } catch (IOException noSwapAccounting) {
      // as above
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      Files.deleteIfExists(dir);
    } catch (IOException stillBusy) {
      // a process of the instance is still exiting; the name is never reused
    }
  }

  /**
   * The limit of one instance.
   *
   * @param cgroup its cgroup, or null
   * @param bytes its memory size
   */
  record Instance(Mechanism mechanism, Path cgroup, long bytes, int memoryMb) {
    /** The file the instance's first process writes itself into, or "" without a cgroup. */
    String procsFile() {
      return cgroup == null ? "" : cgroup.resolve("cgroup.procs").toString();
    }

    /** The RLIMIT_AS to set on its processes, or 0 for none. */
    long addressSpaceLimit() {
      return mechanism == Mechanism.RLIMIT_AS ? bytes : 0;
    }

    /** Whether the kernel killed a process of the instance for want of memory. */
    boolean outOfMemory() {
      if (cgroup == null) {
        return false;
      }
      Path events =
          cgroup.resolve(mechanism == Mechanism.CGROUP_V2 ? "memory.events" : "memory.oom_control");
      try {
        for (String line : Files.readAllLines(events)) {
          String[] f = line.strip().split("\\s+");
          if (f.length == 2 && f[0].equals("oom_kill") && Long.parseLong(f[1]) > 0) {
            return true;
          }
        }
      } catch (IOException | NumberFormatException unreadable) {
        return false;
      }
      return false;
    }

    /** The line the instance's log starts with: which limit holds it, and how. */
    String describe() {
      return switch (mechanism) {
        case CGROUP_V2, CGROUP_V1 -> "memory limit " + memoryMb + " MB enforced by " + mechanism.label()
            + " at " + cgroup + "; /tmp counts towards it";
        case RLIMIT_AS -> "memory limit " + memoryMb + " MB enforced by " + mechanism.label()
            + "; /tmp holds at most " + memoryMb + " MB";
        case NONE -> "memory limit " + memoryMb + " MB NOT enforced (no cgroup or prlimit on this"
            + " host; see the agent's isolation report); /tmp holds at most " + memoryMb + " MB";
      };
    }

    /** Removes its cgroup once its processes are gone. */
    void remove() {
      if (cgroup != null) {
        deleteQuietly(cgroup);
      }
    }
  }
}
