package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which memory limit the agent chooses, against hosts laid out in a temporary directory the way
 * {@code /proc/self/mounts}, {@code /proc/self/cgroup} and the cgroup filesystems show them. The
 * mechanism this machine offers is exercised for real in {@link MemoryEnforcementTest}.
 */
class MemoryLimitTest {
  private static final long PID = 4242;
  @TempDir Path tmp;

  private MemoryLimit.Host host(String mounts, String cgroups, boolean prlimit) throws IOException {
    Path m = Files.writeString(tmp.resolve("mounts"), mounts);
    Path c = Files.writeString(tmp.resolve("cgroup"), cgroups);
    return new MemoryLimit.Host(c, m, prlimit, PID);
  }

  private Path dir(String relative, String controllers) throws IOException {
    Path d = Files.createDirectories(tmp.resolve(relative));
    if (controllers != null) {
      Files.writeString(d.resolve("cgroup.controllers"), controllers + "\n");
    }
    return d;
  }

  @Test
  void aDelegatedCgroupV2WithTheMemoryControllerIsChosenFirst() throws IOException {
    Path root = dir("unified", "cpuset cpu io memory pids");
    dir("unified/agent.slice", "cpu memory pids");
    Path v1 = dir("memory", null);
    List<String> notes = new ArrayList<>();
    MemoryLimit limit =
        MemoryLimit.probe(
            host("cgroup2 " + root + " cgroup2 rw 0 0\ncgroup " + v1 + " cgroup rw,memory 0 0\n",
                "0::/agent.slice\n4:memory:/\n", true),
            notes);

    assertEquals(MemoryLimit.Mechanism.CGROUP_V2, limit.mechanism(), notes.toString());
    Path parent = limit.cgroupParent().orElseThrow();
    assertEquals(root.resolve("agent.slice"), parent.getParent());
    assertTrue(parent.getFileName().toString().startsWith("confaas-" + PID + "-"), parent.toString());
    assertEquals("+memory +cpu", Files.readString(parent.resolve("cgroup.subtree_control")));

    MemoryLimit.Instance i = limit.forInstance("i-1", 64);
    assertEquals(Long.toString(64L << 20), Files.readString(parent.resolve("i-1/memory.max")));
    assertEquals("10000 100000", Files.readString(parent.resolve("i-1/cpu.max")),
        "64 MB is less than a tenth of a vCPU at Lambda's rate: the floor");
    assertEquals(parent.resolve("i-1/cgroup.procs").toString(), i.procsFile());
    assertEquals(0, i.addressSpaceLimit(), "a cgroup needs no RLIMIT_AS");
    assertTrue(i.describe().contains("64 MB enforced by cgroup v2"), i.describe());
  }

  @Test
  void aCgroupV2ThatHoldsTheAgentMovesItIntoALeafBeforeHandingDownControllers() throws IOException {
    Path root = dir("unified", "memory pids");
    Path own = dir("unified/user.slice", "memory pids");
    // Writing subtree_control fails while the group holds processes: here, it is no file at all.
    Files.createDirectories(own.resolve("cgroup.subtree_control"));
    List<String> notes = new ArrayList<>();
    MemoryLimit limit =
        MemoryLimit.probe(host("cgroup2 " + root + " cgroup2 rw 0 0\n", "0::/user.slice\n", true), notes);
    // The fake cannot turn the directory back into a file, so the retry fails too, and says why.
    assertEquals(MemoryLimit.Mechanism.RLIMIT_AS, limit.mechanism());
    assertEquals(Long.toString(PID),
        Files.readString(own.resolve("confaas-agent-" + PID + "/cgroup.procs")),
        "the agent moved itself into a leaf of its own cgroup");
    assertTrue(notes.stream().anyMatch(n -> n.contains("not delegated")), notes.toString());
  }

  @Test
  void aHybridHostWhoseCgroupV2LacksMemoryUsesTheCgroupV1MemoryHierarchy() throws IOException {
    Path unified = dir("unified", "hugetlb");
    Path v1 = dir("memory", null);
    Path own = dir("memory/process_api/abc", null);
    Files.writeString(own.resolve("memory.limit_in_bytes"), "9223372036854771712");
    // What an agent killed without closing left behind (no process has a PID that large).
    Path stale = dir("memory/process_api/abc/confaas-999999999-1/i-4", null).getParent();
    List<String> notes = new ArrayList<>();
    MemoryLimit limit =
        MemoryLimit.probe(
            host("cgroup2 " + unified + " cgroup2 rw 0 0\n"
                    + "cgroup " + v1 + " cgroup rw,relatime,memory 0 0\n",
                "4:memory:/process_api/abc\n0::/\n", true),
            notes);

    assertEquals(MemoryLimit.Mechanism.CGROUP_V1, limit.mechanism(), notes.toString());
    assertFalse(Files.exists(stale), "the empty groups of a gone agent are removed");
    assertTrue(notes.stream().anyMatch(n -> n.contains("without memory")), notes.toString());
    Path parent = limit.cgroupParent().orElseThrow();
    assertEquals(own, parent.getParent());
    MemoryLimit.Instance i = limit.forInstance("i-7", 128);
    assertEquals(Long.toString(128L << 20), Files.readString(parent.resolve("i-7/memory.limit_in_bytes")));
    assertFalse(i.outOfMemory());
    Files.writeString(parent.resolve("i-7/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    assertTrue(i.outOfMemory(), "the kernel's oom_kill count says the instance ran out");
  }

  @Test
  void withoutAUsableCgroupEachProcessGetsAnAddressSpaceLimit() throws IOException {
    List<String> notes = new ArrayList<>();
    MemoryLimit limit = MemoryLimit.probe(host("proc /proc proc rw 0 0\n", "0::/\n", true), notes);
    assertEquals(MemoryLimit.Mechanism.RLIMIT_AS, limit.mechanism());
    MemoryLimit.Instance i = limit.forInstance("i-2", 256);
    assertEquals(256L << 20, i.addressSpaceLimit());
    assertEquals("", i.procsFile());
    assertTrue(i.describe().contains("RLIMIT_AS"), i.describe());
  }

  @Test
  void withNeitherACgroupNorPrlimitTheReportSaysMemoryIsNotLimited() throws IOException {
    List<String> notes = new ArrayList<>();
    MemoryLimit limit = MemoryLimit.probe(host("", "", false), notes);
    assertEquals(MemoryLimit.Mechanism.NONE, limit.mechanism());
    assertTrue(notes.stream().anyMatch(n -> n.contains("NOT limited")), notes.toString());
    assertTrue(limit.forInstance("i-3", 64).describe().contains("NOT enforced"));
  }
}
