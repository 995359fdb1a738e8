package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts that allow no namespaces (an unprivileged CI runner) still run functions, as plain child
 * processes: same Runtime API, same deadlines and crash handling, no sandbox.
 */
class NoIsolationTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;

  @BeforeAll
  static void start() throws Exception {
    supervisor =
        InstanceSupervisor.start(
            InstanceSupervisor.Config.defaults(tmp.resolve("state")).withIsolation(false));
  }

  @AfterAll
  static void stop() {
    supervisor.close();
  }

  @Test
  void theReportSaysThereIsNoSandbox() {
    IsolationReport r = supervisor.isolation();
    assertFalse(r.namespaces());
    assertFalse(r.networkNamespace());
    assertTrue(r.describe().contains("turned off"), r.describe());
  }

  @Test
  void functionsStillRunTimeOutAndCrashAsUnderIsolation() throws Exception {
    Path dir =
        ShellRuntime.write(
            tmp,
            "plain",
            String.join(
                "\n",
                "  case \"$EVENT\" in",
                "    hang) sleep 1000 ;;",
                "    crash) exit 4 ;;",
                "    *) OUT=\"$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z')|$LAMBDA_TASK_ROOT|$(pwd)\" ;;",
                "  esac"));
    // Without a chroot the entrypoint is found under the task directory itself.
    FunctionSpec spec = FunctionSpec.builder("plain", dir, List.of("/var/task/bootstrap")).build();
    InstanceOutcome ok = call(spec, "abc");
    assertEquals("ABC|" + dir + "|" + dir, new String(ok.payload(), StandardCharsets.UTF_8));

    InstanceOutcome hung =
        supervisor
            .invoke(spec, Invocation.of("hang".getBytes(StandardCharsets.UTF_8), Duration.ofMillis(300)))
            .get(60, TimeUnit.SECONDS);
    assertEquals(FunctionFailure.Kind.TIMED_OUT, hung.failure().kind(), String.valueOf(hung.failure()));

    InstanceOutcome crashed = call(spec, "crash");
    assertEquals(FunctionFailure.Kind.CRASHED, crashed.failure().kind(), String.valueOf(crashed.failure()));
    assertEquals(4, crashed.failure().exitStatus());
    assertNotEquals(hung.instanceId(), crashed.instanceId(), "the timed-out instance was replaced");
  }

  private static InstanceOutcome call(FunctionSpec spec, String event) throws Exception {
    return supervisor
        .invoke(spec, Invocation.of(event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10)))
        .get(60, TimeUnit.SECONDS);
  }
}
