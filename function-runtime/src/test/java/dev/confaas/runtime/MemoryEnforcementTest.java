package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A function's memory size is a limit, not a label (issue 11: a 64 MB function kept 400 MB in its
 * /tmp): real sh functions under whatever memory cgroup this host delegates to the agent (cgroup v1
 * on the development machines, cgroup v2 in the qemu guest). The other mechanisms' choice is tested
 * in {@link MemoryLimitTest}.
 */
class MemoryEnforcementTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;

  /** "hog" holds ~300 MB in a shell variable; "fill" writes 400 MB to /tmp; else uppercases. */
  private static final String GREEDY =
      String.join(
          "\n",
          "  case \"$EVENT\" in",
          "    hog) x=$(head -c 300000000 /dev/zero | tr '\\0' a); OUT=${#x} ;;",
          "    fill) dd if=/dev/zero of=/tmp/big bs=1M count=400 2>/dev/null;"
              + " OUT=$(du -sk /tmp | cut -f1) ;;",
          "    *) OUT=$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z') ;;",
          "  esac");

  @BeforeAll
  static void start() throws Exception {
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
  }

  @AfterAll
  static void stop() {
    if (supervisor != null) {
      supervisor.close();
    }
  }

  private static FunctionSpec greedy(String name) {
    return FunctionSpec.builder(name, ShellRuntime.write(tmp, name, GREEDY), List.of("/var/task/bootstrap"))
        .name(name)
        .memoryMb(64)
        .logFds(Set.of(1, 2))
        .initTimeout(Duration.ofSeconds(20))
        .build();
  }

  private static InstanceOutcome call(FunctionSpec spec, String event) throws Exception {
    return supervisor
        .invoke(spec, Invocation.of(event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(60)))
        .get(120, TimeUnit.SECONDS);
  }

  private static String text(InstanceOutcome r) {
    assertTrue(r.succeeded(), "expected a payload, got " + r.failure());
    return new String(r.payload(), StandardCharsets.UTF_8);
  }

  private static void assumeCgroup() {
    MemoryLimit.Mechanism m = supervisor.isolation().memory().mechanism();
    assumeTrue(
        supervisor.isolation().namespaces()
            && (m == MemoryLimit.Mechanism.CGROUP_V1 || m == MemoryLimit.Mechanism.CGROUP_V2),
        "this host delegates no memory cgroup to the agent:\n" + supervisor.isolation().describe());
  }

  @Test
  void aFunctionThatAllocatesFarPastItsMemorySizeFailsWithOutOfMemoryAndOthersGoOn() throws Exception {
    assumeCgroup();
    FunctionSpec hog = greedy("hog");
    FunctionSpec bystander = greedy("bystander");
    assertEquals("WARM", text(call(bystander, "warm")));
    assertEquals("BEFORE", text(call(hog, "before")));

    InstanceOutcome r = call(hog, "hog");
    assertTrue(!r.succeeded(), "a 64 MB function held 300 MB: " + (r.succeeded() ? text(r) : ""));
    assertEquals(FunctionFailure.Kind.CRASHED, r.failure().kind(), r.failure().toString());
    assertEquals("Runtime.OutOfMemory", r.failure().type(), r.failure().toString());
    assertTrue(r.failure().message().contains("64 MB"), r.failure().message());

    assertEquals("STILL HERE", text(call(bystander, "still here")), "the other function goes on");
    InstanceOutcome again = call(hog, "again");
    assertEquals("AGAIN", text(again), "the function itself starts afresh");
    assertNotEquals(r.instanceId(), again.instanceId());
  }

  @Test
  void tmpCannotHoldMoreThanTheMemorySize() throws Exception {
    assumeCgroup();
    InstanceOutcome r = call(greedy("filler"), "fill");
    if (r.succeeded()) {
      long kb = Long.parseLong(text(r).strip());
      assertTrue(kb <= 64 * 1024, "a 64 MB function kept " + kb + " KB in /tmp");
    } else {
      assertEquals("Runtime.OutOfMemory", r.failure().type(), r.failure().toString());
    }
  }

  @Test
  void theFunctionsLogSaysWhichLimitHoldsIt() throws Exception {
    LinkedBlockingQueue<LogLine> lines = new LinkedBlockingQueue<>();
    try (AutoCloseable sub = supervisor.onLog(l -> { if (l.imageId().equals("told")) lines.add(l); })) {
      assertEquals("X", text(call(greedy("told"), "x")));
      LogLine first = lines.poll(20, TimeUnit.SECONDS);
      assertTrue(first != null, "no log line");
      String line = new String(first.line(), StandardCharsets.UTF_8);
      assertTrue(line.startsWith("confaas: instance ") && line.contains("memory limit 64 MB"), line);
      assertTrue(line.contains(supervisor.isolation().memory().mechanism() == MemoryLimit.Mechanism.NONE
          ? "NOT enforced" : "enforced by"), line);
      assertEquals("", first.requestId(), "it is init output");
    }
    assertTrue(supervisor.isolation().describe().contains("memory limit per instance: "),
        supervisor.isolation().describe());
  }
}
