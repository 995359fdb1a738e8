package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm pool over REAL TDs of the {@code process} backend (agent JVMs attested through their
 * simulated quotes). Health checks are run by hand ({@link WarmPool#healthCheck()}) and ages and
 * drain timeouts pass by moving the pool's clock, so nothing waits for time.
 */
class WarmPoolOnProcessTdsTest {
  private static final Duration MAX_AGE = Duration.ofHours(1);
  private static final Duration DRAIN = Duration.ofMinutes(1);

  @TempDir Path tmp;
  private final ShiftedClock clock = new ShiftedClock();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService workers = Executors.newCachedThreadPool();
  private final List<WarmPool> pools = new ArrayList<>();

  @AfterEach
  void stop() {
    pools.forEach(WarmPool::close);
    timer.shutdownNow();
    workers.shutdownNow();
  }

  /** A pool of process TDs whose periodic health check is far away (the tests run it). */
  private WarmPool pool(ProcessTdLauncher launcher, TdAttestor attestor, int target, int max) {
    WarmPool p =
        new WarmPool(
            launcher,
            attestor == null ? launcher.attestor() : attestor,
            new PoolConfig(target, 0, max, 2, Duration.ofHours(1), MAX_AGE, 4, DRAIN),
            clock,
            timer,
            workers,
            meters);
    pools.add(p);
    p.start();
    return p;
  }

  private ProcessTdLauncher launcher(String name) {
    return new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve(name)));
  }

  private static PooledTd take(WarmPool pool) throws Exception {
    return pool.acquire().get(120, TimeUnit.SECONDS);
  }

  private static TdInfo info(WarmPool pool, String id) {
    return pool.tds().stream().filter(t -> t.id().equals(id)).findFirst()
        .orElseThrow(() -> new AssertionError("TD " + id + " not listed: " + pool.tds()));
  }

  private static long count(WarmPool pool, TdState... states) {
    Set<TdState> s = Set.of(states);
    return pool.tds().stream().filter(t -> s.contains(t.state())).count();
  }

  @Test
  void aTakenTdIsReplacedAtOnceAndAReleasedFreshTdIsIdleAgain() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 1, 3);
    PooledTd a = take(pool);
    assertTrue(a.attested().verification().verified(), a.attested().verification().message());
    assertEquals(TdState.ACTIVE, info(pool, a.id()).state());
    assertNotNull(info(pool, a.id()).lastAttested());
    assertEquals(1, count(pool, TdState.BOOTING, TdState.ATTESTING, TdState.IDLE),
        "target 1: a replacement must be booting or idle as soon as a TD is taken: " + pool.tds());
    PooledTd b = take(pool);
    assertNotEquals(a.id(), b.id());
    assertEquals(3, count(pool, TdState.BOOTING, TdState.ATTESTING, TdState.IDLE, TdState.ACTIVE),
        "2 taken + 1 replacement = max 3: " + pool.tds());

    pool.release(a);
    assertEquals(TdState.IDLE, info(pool, a.id()).state(), "nothing was loaded: still a fresh TD");
    b.recordLoaded("sha384/" + "a".repeat(96) + "/" + "b".repeat(96));
    pool.release(b);
    TdInfo released = info(pool, b.id());
    assertEquals(TdState.STOPPED, released.state(), "a TD that loaded an image is not fresh any more");
    assertTrue(released.reason().contains("append-only"), released.reason());
    assertTrue(meters.get("confaas.pool.boot.ready").timer().count() >= 2);
  }

  @Test
  void aTdWhoseProcessDiesIsRemovedAndReplaced() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 1, 2);
    PooledTd a = take(pool);
    ProcessHandle agent = agentOf(tmp.resolve("pool").resolve(a.id()));
    agent.destroyForcibly();
    agent.onExit().get(30, TimeUnit.SECONDS);
    assertFalse(a.acceptsWork());

    pool.healthCheck();
    TdInfo dead = info(pool, a.id());
    assertEquals(TdState.STOPPED, dead.state());
    assertTrue(dead.reason().contains("process exited"), dead.reason());
    PooledTd replacement = take(pool);
    assertNotEquals(a.id(), replacement.id());
    assertTrue(replacement.isAlive());
  }

  /**
   * Issue 11, defect 7: an agent that cannot answer in time (here: stopped with SIGSTOP, as an
   * overloaded host's would be descheduled) is slow, not lost; only past the liveness limit is it
   * replaced. A killed one is replaced at once.
   */
  @Test
  void aStoppedAgentIsKeptPastTheInspectDeadlineAndLostOnlyPastTheLivenessLimit() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 0, 3);
    PooledTd slow = take(pool);
    PooledTd killed = take(pool);
    ProcessHandle agent = agentOf(tmp.resolve("pool").resolve(slow.id()));
    signal("STOP", agent);
    try {
      pool.healthCheck(); // Inspect's deadline is 5 s
      Thread.sleep(7_000);
      pool.healthCheck(); // the first check's DEADLINE_EXCEEDED came back: LATE
      Thread.sleep(1_000);
      assertEquals(TdState.ACTIVE, info(pool, slow.id()).state(),
          "a TD whose agent answered late was removed: " + info(pool, slow.id()).reason());
      assertTrue(slow.acceptsWork());
    } finally {
      signal("CONT", agent);
    }
    pool.healthCheck();
    Thread.sleep(1_000);
    assertEquals(TdState.ACTIVE, info(pool, slow.id()).state(), info(pool, slow.id()).reason());

    ProcessHandle killedAgent = agentOf(tmp.resolve("pool").resolve(killed.id()));
    killedAgent.destroyForcibly();
    killedAgent.onExit().get(30, TimeUnit.SECONDS);
    pool.healthCheck();
    TdInfo dead = info(pool, killed.id());
    assertEquals(TdState.STOPPED, dead.state());
    assertTrue(dead.reason().contains("process exited"), dead.reason());

    // Stopped for good: once the liveness limit has passed without an answer, it is replaced.
    signal("STOP", agent);
    try {
      clock.advance(PoolConfig.DEFAULT_LIVENESS_LIMIT);
      pool.healthCheck();
      Thread.sleep(7_000);
      pool.healthCheck();
      TdInfo wedged = info(pool, slow.id());
      assertEquals(TdState.STOPPED, wedged.state(), wedged.reason());
      assertTrue(wedged.reason().contains("has not answered for"), wedged.reason());
    } finally {
      // Stopping the TD killed it (SIGKILL reaches a stopped process), unless an assertion failed.
      new ProcessBuilder("kill", "-CONT", Long.toString(agent.pid())).start().waitFor();
    }
  }

  private static void signal(String sig, ProcessHandle p) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -" + sig + " " + p.pid());
  }

  @Test
  void oldTdsAreRecycledIdleOnesAtOnceActiveOnesAfterDraining() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 1, 3);
    PooledTd held = take(pool);
    PooledTd idle = take(pool);
    pool.release(idle);
    assertEquals(TdState.IDLE, info(pool, idle.id()).state());

    clock.advance(MAX_AGE);
    pool.healthCheck();
    assertEquals(TdState.STOPPED, info(pool, idle.id()).state());
    assertTrue(info(pool, idle.id()).reason().contains("maxAge"), info(pool, idle.id()).reason());
    assertEquals(TdState.DRAINING, info(pool, held.id()).state(), "in use: drained, not stopped");
    assertFalse(held.acceptsWork(), "a draining TD must take no new work");
    assertTrue(held.isAlive(), "its in-flight work may still finish");

    pool.release(held);
    assertEquals(TdState.STOPPED, info(pool, held.id()).state());
    assertTrue(take(pool).isAlive(), "replacements boot");
  }

  @Test
  void aVendorUpdateDrainsTheTdsHoldingStaleImagesAndTheDrainTimeoutEndsThem() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 0, 3);
    String stale = "sha384/" + "1".repeat(96) + "/" + "2".repeat(96);
    String current = "sha384/" + "1".repeat(96) + "/" + "3".repeat(96);
    PooledTd holdsStale = take(pool);
    PooledTd holdsCurrent = take(pool);
    holdsStale.recordLoaded(stale);
    holdsCurrent.recordLoaded(current);

    assertEquals(1, pool.drainTdsHolding(Set.of(stale)));
    assertEquals(TdState.DRAINING, info(pool, holdsStale.id()).state());
    assertEquals(TdState.ACTIVE, info(pool, holdsCurrent.id()).state());
    assertEquals(List.of(stale), info(pool, holdsStale.id()).loadedImages());

    clock.advance(DRAIN);
    pool.healthCheck();
    TdInfo ended = info(pool, holdsStale.id());
    assertEquals(TdState.STOPPED, ended.state(), "its holder never released it; the drain timeout did");
    assertTrue(ended.reason().contains("drainTimeout"), ended.reason());
    assertEquals(TdState.ACTIVE, info(pool, holdsCurrent.id()).state());
  }

  /**
   * Issue 11: a TD whose agent measured an image and then refused it named it in RTMR3 while the
   * pool listed it as loaded, and stayed shared. Now it is not listed, and the TD is drained.
   */
  @Test
  void aTdThatMeasuredAnImageItThenRefusedDoesNotListItAndIsDrained() throws Exception {
    WarmPool pool = pool(launcher("pool"), null, 0, 2);
    String good = "sha384/" + "1".repeat(96) + "/" + "4".repeat(96);
    String refused = "sha384/" + "1".repeat(96) + "/" + "5".repeat(96);
    PooledTd td = take(pool);
    td.recordLoaded(good);
    td.refusedAfterMeasuring(refused, "AddBlob refused: digest mismatch");

    TdInfo drained = info(pool, td.id());
    assertEquals(List.of(good), drained.loadedImages(), "the refused image is not listed as loaded");
    assertEquals(TdState.DRAINING, drained.state());
    assertTrue(drained.reason().contains(refused) && drained.reason().contains("digest mismatch"),
        drained.reason());
    assertFalse(td.acceptsWork(), "a TD that measured a refused image takes no new work");

    pool.release(td);
    assertEquals(TdState.STOPPED, info(pool, td.id()).state(), "recycled once given back");
  }

  @Test
  void aTdThatFailsAttestationNeverEntersThePool() throws Exception {
    // The TDs boot under one pool's simulated PKI and host identity; the attestor trusts another's.
    ProcessTdLauncher booting = launcher("booting");
    ProcessTdLauncher other = launcher("other");
    try {
      WarmPool pool = pool(booting, other.attestor(), 0, 1);
      ExecutionException e = assertThrows(ExecutionException.class, () -> take(pool));
      assertInstanceOf(PoolExhaustedException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("failed attestation"), e.getCause().getMessage());
      assertEquals(1.0, meters.counter("confaas.pool.attestation.failures").count());
      assertEquals(0, count(pool, TdState.IDLE, TdState.ACTIVE), "no unattested TD may be handed out");
    } finally {
      other.close();
    }
  }

  @Test
  void aBackendThatCannotBootFailsTheWaitingAcquireWithItsReason() {
    ProcessTdLauncher broken =
        new ProcessTdLauncher(
            ProcessTdLauncher.Config.defaults(tmp.resolve("broken"))
                .withClassPath(List.of(tmp.resolve("no-such-agent.jar"))));
    WarmPool pool = pool(broken, null, 0, 1);
    ExecutionException e = assertThrows(ExecutionException.class, () -> take(pool));
    assertTrue(e.getCause().getMessage().contains("did not boot"), e.getCause().getMessage());
    assertEquals(1.0, meters.counter("confaas.pool.boot.failures").count());
  }

  /** The agent JVM of a TD: the child of this JVM running in the TD's directory. */
  private static ProcessHandle agentOf(Path tdDir) throws IOException {
    Path real = tdDir.toRealPath();
    return ProcessHandle.current().children()
        .filter(p -> {
          try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).equals(real);
          } catch (IOException gone) {
            return false;
          }
        })
        .findFirst()
        .orElseThrow(() -> new AssertionError("no agent process runs in " + tdDir));
  }

  /** The system clock moved ahead by what the test says. */
  static final class ShiftedClock extends Clock {
    private volatile Duration shift = Duration.ZERO;

    void advance(Duration d) {
      shift = shift.plus(d);
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(shift);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }
}
