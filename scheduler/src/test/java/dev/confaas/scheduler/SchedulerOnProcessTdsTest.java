package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.pool.PoolConfig;
import dev.confaas.pool.ProcessTdLauncher;
import dev.confaas.pool.TdInfo;
import dev.confaas.pool.TdState;
import dev.confaas.pool.WarmPool;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler and the warm pool over REAL TDs of the {@code process} backend: agent JVMs booted by
 * {@link ProcessTdLauncher}, attested through their simulated quotes, loaded with real signed images
 * over the pinned channel, running real sh + curl functions. The integration layer: what only real
 * TDs show (the agent's own policy check agreeing with placement, a killed agent seen as a lost TD,
 * the pool retiring what the scheduler gives back). Dispatch decisions are tested against fakes in
 * {@link DispatcherTest} and {@link InstanceStarterTest}.
 */
class SchedulerOnProcessTdsTest {
  private static final Duration KEEP_ALIVE = Duration.ofMinutes(5);
  private static final int QUEUE = 3;
  private static final Duration SLEEPY_TIMEOUT = Duration.ofSeconds(5);

  @TempDir static Path tmp;
  private static final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private static final Map<String, DeployedFunction> deployed = new ConcurrentHashMap<>();
  private static final ShiftedClock clock = new ShiftedClock();
  private static ScheduledExecutorService timer;
  private static ExecutorService workers;
  private static ProcessTdLauncher launcher;
  private static WarmPool pool;
  private static Scheduler scheduler;
  private static String aliceUpper;
  private static String aliceEcho;
  private static String bobUpper;
  private static String aliceTampered;

  @BeforeAll
  static void startPlatform() throws Exception {
    Clock system = Clock.systemUTC();
    SigningKeys vendor = SigningKeys.generate("vendor", system);
    SigningKeys alice = SigningKeys.generate("alice", system);
    SigningKeys bob = SigningKeys.generate("bob", system);
    FunctionImages images = new FunctionImages(tmp, vendor);
    aliceUpper = images.function(alice, "alice-upper");
    aliceEcho = images.function(alice, "alice-echo");
    bobUpper = images.function(bob, "bob-upper");
    List<String> deps = List.of(images.vendorImageId());
    deploy("alice-upper", aliceUpper, deps, 4);
    deploy("alice-echo", aliceEcho, deps, 4);
    deploy("bob-upper", bobUpper, deps, 4);
    deploy("victim", aliceUpper, deps, 1);
    deploy("scaled", aliceEcho, deps, 2);
    deploy("singleton", images.function(alice, "alice-single", 1), deps, 1);
    deploy("sharer", images.function(alice, "alice-sharer"), deps, 2);
    deployed.put("small", new DeployedFunction(
        "small", 1, images.function(alice, "alice-small"), deps, 1, Duration.ofSeconds(60), 64));
    // A signed image whose function layer the host's store then damaged: the agent measures the
    // manifest, then refuses the layer (its digest does not match).
    aliceTampered = images.function(alice, "alice-tampered");
    SignedManifest tampered = images.repository().getImage(ImageId.parse(aliceTampered)).orElseThrow();
    Digest layer = (Digest) tampered.manifest().layers().get(tampered.manifest().layers().size() - 1);
    Path blob = images.repository().blobPath(layer);
    byte[] bytes = Files.readAllBytes(blob);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(blob, bytes);
    deploy("tampered", aliceTampered, deps, 1);
    deployed.put("sleepy", new DeployedFunction(
        "sleepy", 1, images.function(alice, "alice-sleepy"), deps, 1, SLEEPY_TIMEOUT, 128));

    timer = Executors.newScheduledThreadPool(1, daemon("timer"));
    workers = Executors.newCachedThreadPool(daemon("worker"));
    launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")));
    pool =
        new WarmPool(
            launcher,
            launcher.attestor(),
            new PoolConfig(
                2, 1, 6, 2, Duration.ofSeconds(2), Duration.ofHours(1), 16, Duration.ofSeconds(30)),
            system,
            timer,
            workers,
            meters);
    pool.start();
    scheduler =
        new Scheduler(
            (name, version) -> Optional.ofNullable(deployed.get(name)),
            images.repository(),
            pool,
            new SchedulerConfig(
                QUEUE, KEEP_ALIVE, 8, 4, Duration.ofSeconds(90), Duration.ofSeconds(5), Duration.ofSeconds(1)),
            clock,
            timer,
            workers,
            meters);
  }

  @AfterAll
  static void stopPlatform() {
    if (scheduler != null) {
      scheduler.close();
    }
    if (pool != null) {
      pool.close();
    }
    if (timer != null) {
      timer.shutdownNow();
      workers.shutdownNow();
    }
  }

  private static void deploy(String name, String imageId, List<String> deps, int concurrency) {
    deployed.put(name, new DeployedFunction(name, 1, imageId, deps, concurrency, Duration.ofSeconds(60), 128));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, "test-" + name);
      t.setDaemon(true);
      return t;
    };
  }

  private static CompletableFuture<InvocationResult> send(String function, String event) {
    return scheduler.invoke(
        new InvocationRequest(
            function,
            null,
            event.getBytes(StandardCharsets.UTF_8),
            clock.instant().plus(Duration.ofMinutes(2)),
            UUID.randomUUID().toString(),
            ""));
  }

  private static InvocationResult await(CompletableFuture<InvocationResult> f) throws Exception {
    try {
      return f.get(180, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("invocation failed: " + e.getCause(), e.getCause());
    }
  }

  private static String ok(InvocationResult r) {
    assertTrue(r.succeeded(), "function error: " + r.error());
    return new String(r.payload(), StandardCharsets.UTF_8);
  }

  private static TdInfo td(String id) {
    return pool.tds().stream().filter(t -> t.id().equals(id)).findFirst()
        .orElseThrow(() -> new AssertionError("TD " + id + " not in " + pool.tds()));
  }

  @Test
  void functionsWhosePoliciesRefuseEachOtherNeverShareATdWhileOneSignersDo() throws Exception {
    InvocationResult a = await(send("alice-upper", "hi"));
    assertEquals("alice-upper:HI", ok(a));
    assertEquals(aliceUpper, a.imageId());
    InvocationResult e = await(send("alice-echo", "yo"));
    assertEquals("alice-echo:YO", ok(e));
    InvocationResult b = await(send("bob-upper", "hey"));
    assertEquals("bob-upper:HEY", ok(b));

    List<String> aliceTd = td(e.tdId()).loadedImages();
    assertTrue(aliceTd.contains(aliceUpper) && aliceTd.contains(aliceEcho),
        "alice's two functions should be packed on one TD; " + e.tdId() + " holds " + aliceTd);
    assertNotEquals(a.tdId(), b.tdId());
    for (TdInfo t : pool.tds()) {
      boolean hasAlice = t.loadedImages().contains(aliceUpper) || t.loadedImages().contains(aliceEcho);
      assertFalse(hasAlice && t.loadedImages().contains(bobUpper),
          "TD " + t.id() + " holds both signers' functions: " + t.loadedImages());
    }
    List<String> log = td(b.tdId()).rtmr3Log();
    assertNotNull(log);
  }

  @Test
  void killingATdMidInvocationFailsThatCallWithTdLostAndThePoolReplacesIt() throws Exception {
    InvocationResult warm = await(send("victim", "warm"));
    assertEquals("alice-upper:WARM", ok(warm));
    String tdId = warm.tdId();
    CompletableFuture<InvocationResult> running = send("victim", "sleep 60");
    // The agent JVM only (not its function processes), so the TD as a whole goes away: it is the
    // child of this JVM that runs in the TD's directory.
    List<ProcessHandle> agent = agentOf(tdId);
    agent.forEach(ProcessHandle::destroyForcibly);

    InvocationResult lost = await(running);
    assertNotNull(lost.error(), "the call on the killed TD must fail");
    assertEquals(FunctionError.Kind.TD_LOST, lost.error().kind(), lost.error().toString());
    assertEquals(tdId, lost.tdId());
    assertEquals(TdState.STOPPED, td(tdId).state(), "the lost TD must be retired");

    InvocationResult again = await(send("victim", "again"));
    assertEquals("alice-upper:AGAIN", ok(again));
    assertNotEquals(tdId, again.tdId(), "the function must move to a replacement TD");
  }

  /** The agent JVM of a process TD: the child of this JVM that runs in the TD's directory. */
  private static List<ProcessHandle> agentOf(String tdId) throws java.io.IOException {
    Path tdDir = tmp.resolve("pool").resolve(tdId).toRealPath();
    List<ProcessHandle> agent =
        ProcessHandle.current().children()
            .filter(p -> {
              try {
                return Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).equals(tdDir);
              } catch (java.io.IOException gone) {
                return false;
              }
            })
            .toList();
    assertFalse(agent.isEmpty(), "no agent process found for " + tdId);
    return agent;
  }

  private static void signal(String signal, ProcessHandle p) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -" + signal + " " + p.pid());
  }

  /**
   * Issue 11: an Invoke whose deadline (timeout + grace) passed on a TD that is alive used to count
   * as TD_LOST and retire the TD with every instance on it. The agent here is stopped (SIGSTOP)
   * while its function sleeps past its timeout, so it cannot answer in time, as an overloaded one
   * would not: the call must answer as a timeout, the TD must stay, and the next call succeed there.
   */
  @Test
  void aCallWhoseAgentAnswersTooLateTimesOutAndTheTdStaysForTheNextCall() throws Exception {
    InvocationResult warm = await(send("sleepy", "warm"));
    assertEquals("alice-sleepy:WARM", ok(warm));
    String tdId = warm.tdId();
    ProcessHandle agent = agentOf(tdId).get(0);

    CompletableFuture<InvocationResult> running = send("sleepy", "sleep 60");
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (agent.descendants().noneMatch(p -> p.info().command().orElse("").endsWith("/sleep"))) {
      assertTrue(System.nanoTime() < end, "the function never started sleeping");
      Thread.sleep(20);
    }
    InvocationResult late;
    signal("STOP", agent);
    try {
      late = await(running);
    } finally {
      signal("CONT", agent);
    }
    assertNotNull(late.error(), "the call cannot have succeeded");
    assertEquals(FunctionError.Kind.TIMED_OUT, late.error().kind(), late.error().toString());
    assertEquals(tdId, late.tdId());
    assertNotEquals(TdState.STOPPED, td(tdId).state(), "a slow TD must not be retired: " + td(tdId));

    InvocationResult next = await(send("sleepy", "after"));
    assertEquals("alice-sleepy:AFTER", ok(next));
    assertEquals(tdId, next.tdId(), "the TD keeps serving");
    assertNotEquals(warm.instanceId(), next.instanceId(), "the timed-out instance was replaced");
  }

  /**
   * Issue 11: a TD that measured an image into RTMR3 and then refused it (here: a layer whose bytes
   * do not match its digest) kept it measured, and stayed shared. The refused image must not be
   * listed as loaded, and the TD must be drained and recycled: the next call of a function that ran
   * there moves to a fresh TD.
   */
  @Test
  void aTdThatMeasuredAnImageItThenRefusedIsNotSharedFurther() throws Exception {
    InvocationResult first = await(send("sharer", "first"));
    assertEquals("alice-sharer:FIRST", ok(first));

    ExecutionException refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class, () -> send("tampered", "x").get(180, TimeUnit.SECONDS));
    assertTrue(refused.getCause() instanceof InvocationRejectedException, refused.toString());
    String message = refused.getCause().getMessage();
    assertTrue(message.contains("measured the image and is drained"), message);

    TdInfo drained = pool.tds().stream()
        .filter(t -> t.reason().contains(aliceTampered)).findFirst()
        .orElseThrow(() -> new AssertionError("no TD drained for " + aliceTampered + ": " + pool.tds()));
    assertFalse(drained.loadedImages().contains(aliceTampered),
        "the refused image must not be listed as loaded: " + drained);
    assertTrue(drained.state() == TdState.DRAINING || drained.state() == TdState.STOPPED, drained.toString());

    scheduler.tick();
    InvocationResult next = await(send("sharer", "next"));
    assertEquals("alice-sharer:NEXT", ok(next));
    assertNotEquals(drained.id(), next.tdId(), "nothing new runs on the drained TD");
    assertEquals(TdState.STOPPED, td(drained.id()).state(), "the drained TD is recycled once free");
  }

  /**
   * Issue 11: a function's memory size was not enforced. A 64 MB deployment that holds ~300 MB now
   * fails with Runtime.OutOfMemory (the agent's cgroup, where the host delegates one), its TD stays,
   * and the function's next call runs.
   */
  @Test
  void aFunctionThatUsesFarMoreThanItsMemorySizeFailsOutOfMemoryAndItsTdGoesOn() throws Exception {
    InvocationResult warm = await(send("small", "warm"));
    assertEquals("alice-small:WARM", ok(warm));
    InvocationResult hog = await(send("small", "hog"));
    org.junit.jupiter.api.Assumptions.assumeFalse(hog.succeeded(),
        () -> "this host gives the agent no memory cgroup (see the agent's isolation report): " + ok(hog));
    assertEquals(FunctionError.Kind.CRASHED, hog.error().kind(), hog.error().toString());
    assertEquals("Runtime.OutOfMemory", hog.error().type(), hog.error().toString());
    assertTrue(hog.error().message().contains("64 MB"), hog.error().message());
    assertEquals(warm.tdId(), hog.tdId());
    assertNotEquals(TdState.STOPPED, td(hog.tdId()).state(), "the TD is not harmed");

    InvocationResult after = await(send("small", "after"));
    assertEquals("alice-small:AFTER", ok(after));
    assertEquals(warm.tdId(), after.tdId(), "the function goes on in the same TD");
  }

  /**
   * Issue 13: with maxInstances 1, a crash used to leave the agent running a replacement the
   * scheduler did not know of, and every later Start was refused (RESOURCE_EXHAUSTED) for as long
   * as the TD lived. The agent and the scheduler must agree on instances at all times.
   */
  @Test
  void afterACrashOfTheOnlyInstanceAllowedTheNextCallSucceedsWithinSeconds() throws Exception {
    assertEquals("alice-single:WARM", ok(await(send("singleton", "warm"))));
    InvocationResult crashed = await(send("singleton", "crash"));
    assertNotNull(crashed.error(), "the crash must fail its own call");
    assertEquals(FunctionError.Kind.CRASHED, crashed.error().kind(), crashed.error().toString());

    long started = System.nanoTime();
    InvocationResult next = send("singleton", "after").get(180, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertEquals("alice-single:AFTER", ok(next));
    assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "the call after a crash took " + took);
    assertEquals(crashed.tdId(), next.tdId(), "the TD is healthy; the function stays on it");
    assertEquals(1, scheduler.instancesByTd().get(next.tdId()).stream()
        .filter(i -> i.startsWith("singleton/")).count(), "instances: " + scheduler.instancesByTd());
  }

  @Test
  void aFunctionScalesToZeroAfterItsKeepAliveAndBackOnTheNextCall() throws Exception {
    InvocationResult first = await(send("scaled", "one"));
    assertEquals("alice-echo:ONE", ok(first));
    assertTrue(scheduler.instancesByTd().values().stream().flatMap(List::stream)
        .anyMatch(i -> i.startsWith("scaled/")));

    clock.advance(KEEP_ALIVE.plusSeconds(1));
    scheduler.tick();
    assertTrue(scheduler.instancesByTd().values().stream().flatMap(List::stream)
            .noneMatch(i -> i.startsWith("scaled/")),
        "instances left after keep-alive: " + scheduler.instancesByTd());
    assertEquals(TdState.STOPPED, td(first.tdId()).state(),
        "a TD left without instances goes back to the pool, which retires it (it loaded images)");

    InvocationResult back = await(send("scaled", "two"));
    assertEquals("alice-echo:TWO", ok(back));
    assertNotEquals(first.tdId(), back.tdId());
  }

  @Test
  void aVendorUpdateDrainsTheTdsHoldingTheStaleImageAndCallsMoveToAFreshTd() throws Exception {
    deploy("updated", bobUpper, deployed.get("bob-upper").dependencies(), 2);
    InvocationResult before = await(send("updated", "old"));
    assertEquals("bob-upper:OLD", ok(before));
    // What the platform does when AliasResolver.staleImages names an image after a vendor update.
    assertTrue(pool.drainTdsHolding(java.util.Set.of(bobUpper)) >= 1);
    assertEquals(TdState.DRAINING, td(before.tdId()).state());

    scheduler.tick();
    assertEquals(TdState.STOPPED, td(before.tdId()).state(), "an idle draining TD is given back at once");
    InvocationResult after = await(send("updated", "new"));
    assertEquals("bob-upper:NEW", ok(after));
    assertNotEquals(before.tdId(), after.tdId(), "no instance may keep running on the drained TD");
  }

  /** The system clock moved ahead by what the test says: keep-alives and deadlines pass on demand. */
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
