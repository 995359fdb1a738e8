package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.FakeTds.Call;
import dev.confaas.scheduler.FakeTds.FakeTd;
import dev.confaas.scheduler.FakeTds.ManualExecutor;
import dev.confaas.scheduler.FakeTds.PinnedClock;
import dev.confaas.scheduler.InvocationRejectedException.Reason;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Dispatch decisions (queues, deadlines, fairness, concurrency, instance lifecycle, TDs given back,
 * meters) against in-memory TDs ({@link FakeTds}) and a pinned clock: everything runs on the test's
 * thread, so each test takes milliseconds.
 */
class DispatcherTest {
  private static final Duration KEEP_ALIVE = Duration.ofMinutes(10);
  private static final ImageFacts FRAMEWORK = FakeTds.framework();
  private static final ImageFacts ALICE_A = FakeTds.function("alice", "a");
  private static final ImageFacts ALICE_B = FakeTds.function("alice", "b");
  private static final ImageFacts BOB_C = FakeTds.function("bob", "c");

  private final PinnedClock clock = new PinnedClock(Instant.parse("2026-11-22T08:00:00Z"));
  private final FakeTds tds = new FakeTds();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Map<String, DeployedFunction> catalog = new ConcurrentHashMap<>();
  private final Map<String, ImageFacts> repository = new ConcurrentHashMap<>();
  private Executor starts = Runnable::run;
  private int queueCapacity = 2;
  private int maxColdStarts = 4;
  private Scheduler scheduler;

  DispatcherTest() {
    for (ImageFacts f : List.of(FRAMEWORK, ALICE_A, ALICE_B, BOB_C)) {
      repository.put(f.imageId(), f);
    }
    deploy("a", ALICE_A, 1);
    deploy("b", ALICE_B, 1);
    deploy("c", BOB_C, 1);
  }

  private void deploy(String name, ImageFacts image, int concurrency) {
    catalog.put(name, new DeployedFunction(name, 1, image.imageId(), List.of(FRAMEWORK.imageId()),
        concurrency, Duration.ofSeconds(30), 128));
  }

  private Scheduler scheduler() {
    if (scheduler == null) {
      scheduler = new Scheduler(
          (name, version) -> Optional.ofNullable(catalog.get(name))
              .filter(d -> version == null || version.equals(Integer.toString(d.version()))),
          tds,
          new ImageFactsCache(id -> Optional.ofNullable(repository.get(id))
              .orElseThrow(() -> new IllegalStateException(id + " is not in the image repository")), 64),
          new SchedulerConfig(queueCapacity, KEEP_ALIVE, 8, maxColdStarts,
              Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofMillis(250)),
          clock, null, Runnable::run, starts, meters);
    }
    return scheduler;
  }

  private CompletableFuture<InvocationResult> send(String function, String event) {
    return send(function, event, Duration.ofMinutes(1));
  }

  private CompletableFuture<InvocationResult> send(String function, String event, Duration within) {
    return scheduler().invoke(new InvocationRequest(function, null, event.getBytes(StandardCharsets.UTF_8),
        clock.instant().plus(within), "req-" + event, ""));
  }

  private static String ok(CompletableFuture<InvocationResult> f) {
    assertTrue(f.isDone(), "the call has no outcome yet");
    InvocationResult r = f.join();
    assertTrue(r.succeeded(), "function error: " + r.error());
    return new String(r.payload(), StandardCharsets.UTF_8);
  }

  private static InvocationRejectedException rejected(CompletableFuture<InvocationResult> f) {
    assertTrue(f.isDone(), "the call was neither run nor rejected");
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    return assertInstanceOf(InvocationRejectedException.class, e.getCause());
  }

  private List<String> warm() {
    return scheduler().instancesByTd().values().stream().flatMap(List::stream).collect(Collectors.toList());
  }

  @Test
  void theFirstCallStartsAnInstanceAndAnIdleInstanceTakesTheNext() {
    CompletableFuture<InvocationResult> first = send("a", "one");
    FakeTd td = tds.td("td-1");
    assertEquals(List.of(FRAMEWORK.imageId(), ALICE_A.imageId()), td.loads, "the chain, dependency first");
    tds.nextCall().answer();
    assertEquals("ONE", ok(first));
    assertEquals("td-1", first.join().tdId());
    assertEquals(ALICE_A.imageId(), first.join().imageId());

    CompletableFuture<InvocationResult> second = send("a", "two");
    Call c = tds.nextCall();
    assertEquals(first.join().instanceId(), c.instanceId(), "the warm instance takes it");
    c.answer();
    assertEquals("TWO", ok(second));
    assertEquals(1, tds.starts, "no second start");
    assertEquals(1, tds.handedOut.size());
    assertEquals(1.0, meters.counter("confaas.scheduler.placements", "target", "fresh_td").count());
    assertEquals(2.0, meters.counter("confaas.scheduler.cold.loads").count());
  }

  @Test
  void aFullQueueIsRejectedOverloadedWithRetryAfter() {
    CompletableFuture<InvocationResult> running = send("a", "1");
    List<CompletableFuture<InvocationResult>> queued = List.of(send("a", "2"), send("a", "3"));
    CompletableFuture<InvocationResult> over = send("a", "4");

    InvocationRejectedException r = rejected(over);
    assertEquals(Reason.OVERLOADED, r.reason());
    assertTrue(r.retryAfter().compareTo(Duration.ofSeconds(1)) >= 0, "Retry-After " + r.retryAfter());
    assertTrue(r.getMessage().contains("\"a\"") && r.getMessage().contains("concurrency limit (1)"),
        r.getMessage());
    queued.forEach(q -> assertFalse(q.isDone(), "queued calls wait"));
    tds.nextCall().answer();
    tds.nextCall().answer();
    tds.nextCall().answer();
    assertEquals("1", ok(running));
    assertEquals("2", ok(queued.get(0)));
    assertEquals("3", ok(queued.get(1)));
    assertEquals(1, tds.starts, "concurrency 1: one instance serves the queue in order");
  }

  @Test
  void aCallWhoseDeadlinePassesInTheQueueIsRejectedAndOneArrivingLateIsNotQueued() {
    CompletableFuture<InvocationResult> running = send("a", "slow", Duration.ofMinutes(5));
    CompletableFuture<InvocationResult> queued = send("a", "late", Duration.ofSeconds(10));
    clock.advance(Duration.ofSeconds(11));
    scheduler().tick();
    InvocationRejectedException r = rejected(queued);
    assertEquals(Reason.DEADLINE_EXCEEDED, r.reason());
    assertTrue(r.getMessage().contains("11000 ms in the queue of function \"a\""), r.getMessage());
    assertFalse(running.isDone());

    InvocationRejectedException dead = rejected(scheduler().invoke(new InvocationRequest(
        "a", null, new byte[0], clock.instant(), "r", "")));
    assertEquals(Reason.DEADLINE_EXCEEDED, dead.reason());
  }

  /**
   * Issue 11, defect 7: under overload a call that would wait out its deadline in the queue is
   * refused at once with 429 and a Retry-After, rather than queued to end in a 504 later.
   */
  @Test
  void aCallThatTheQueueAheadWouldMakeMissItsDeadlineIsRefusedOverloadedAtOnce() {
    queueCapacity = 10;
    CompletableFuture<InvocationResult> first = send("a", "0");
    clock.advance(Duration.ofSeconds(20));
    tds.nextCall().answer(); // the function has been seen to take ~20 s: its average moves up
    assertEquals("0", ok(first));

    CompletableFuture<InvocationResult> running = send("a", "1", Duration.ofMinutes(5));
    CompletableFuture<InvocationResult> fits = send("a", "2", Duration.ofSeconds(8));
    assertFalse(fits.isDone(), "one call ahead (~5 s at the average) fits an 8 s deadline: queued");
    InvocationRejectedException shed = rejected(send("a", "3", Duration.ofSeconds(8)));
    assertEquals(Reason.OVERLOADED, shed.reason());
    assertTrue(shed.retryAfter().compareTo(Duration.ofSeconds(1)) >= 0, "Retry-After " + shed.retryAfter());
    assertTrue(shed.getMessage().contains("past this call's deadline"), shed.getMessage());
    assertFalse(running.isDone());
  }

  @Test
  void aFunctionNeverHasMoreCallsInFlightThanItsConcurrency() {
    deploy("a", ALICE_A, 2);
    queueCapacity = 10;
    List<CompletableFuture<InvocationResult>> calls = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      calls.add(send("a", "e" + i));
    }
    assertEquals(2, tds.calls.size(), "two in flight");
    assertEquals(2, tds.starts, "two instances for concurrency 2");
    assertEquals(2.0, meters.get("confaas.scheduler.inflight").tag("function", "a").gauge().value());
    assertEquals(3.0, meters.get("confaas.scheduler.queue.depth").tag("function", "a").gauge().value());
    Call done = tds.nextCall();
    done.answer();
    Call next = tds.calls.peekLast();
    assertEquals("e2", next.event(), "the queue is FIFO");
    assertEquals(done.instanceId(), next.instanceId(), "the freed instance takes the next call");
    assertEquals(2, tds.calls.size(), "still two in flight");
    assertEquals(2, tds.starts);
  }

  @Test
  void coldStartsAreSharedRoundRobinSoABacklogCannotStarveAnotherFunction() {
    ManualExecutor manual = new ManualExecutor();
    starts = manual;
    maxColdStarts = 2;
    queueCapacity = 10;
    deploy("a", ALICE_A, 4);
    for (int i = 0; i < 4; i++) {
      send("a", "a" + i);
    }
    CompletableFuture<InvocationResult> b = send("b", "b0");
    assertEquals(2, manual.tasks.size(), "at most 2 cold starts at once, both granted to a (first come)");
    manual.runAll();
    List<String> served = tds.calls.stream().map(Call::event).toList();
    // When a's first instance is up, the freed start goes to b (its turn), not to a's backlog.
    assertEquals(List.of("a0", "a1", "b0", "a2", "a3"), served);
    tds.calls.forEach(Call::answer);
    assertEquals("B0", ok(b));
  }

  @Test
  void aFailedStartFailsTheQueueUnavailableAndGivesTheTdBack() {
    tds.refuseStart = "FAILED_PRECONDITION (policy: the TD's images reject it)";
    CompletableFuture<InvocationResult> one = send("a", "1");
    InvocationRejectedException r = rejected(one);
    assertEquals(Reason.UNAVAILABLE, r.reason());
    assertTrue(r.getMessage().contains("could not start an instance of function \"a\"")
        && r.getMessage().contains("policy: the TD's images reject it"), r.getMessage());
    // Issue 11, defect 7: overload degrades into 503 with Retry-After, so every failed start says
    // when to come back (it used to say nothing).
    assertEquals(Duration.ofSeconds(5), r.retryAfter());
    assertEquals(List.of("td-1"), tds.released, "a TD without instances goes back");
    assertEquals(Map.of(), scheduler().instancesByTd());

    tds.refuseStart = null;
    tds.capacity = 1;
    InvocationRejectedException exhausted = rejected(send("a", "2"));
    assertEquals(Reason.UNAVAILABLE, exhausted.reason());
    assertTrue(exhausted.getMessage().contains("TDs of the pool are in use"), exhausted.getMessage());
    assertEquals(Duration.ofSeconds(1), exhausted.retryAfter(), "retry soon: a TD frees up");
  }

  @Test
  void aStartFailureRejectsEveryCallQueuedBehindIt() {
    ManualExecutor manual = new ManualExecutor();
    starts = manual;
    List<CompletableFuture<InvocationResult>> calls = List.of(send("a", "1"), send("a", "2"));
    tds.refuseStart = "RESOURCE_EXHAUSTED (no memory)";
    manual.runAll();
    for (CompletableFuture<InvocationResult> c : calls) {
      assertEquals(Reason.UNAVAILABLE, rejected(c).reason());
    }
  }

  @Test
  void aTdLostMidCallFailsItWithTdLostAndIsRetired() {
    CompletableFuture<InvocationResult> call = send("a", "x");
    tds.nextCall().fail(TdAgent.CallFailed.Kind.TD_LOST, "UNAVAILABLE (connection reset)");
    InvocationResult r = call.join();
    assertNotNull(r.error());
    assertEquals(FunctionError.Kind.TD_LOST, r.error().kind());
    assertEquals("td-1", r.tdId());
    assertTrue(r.error().message().contains("TD td-1 was lost mid-invocation: UNAVAILABLE"), r.error().message());
    assertTrue(tds.retired.containsKey("td-1"), "retired: " + tds.retired);

    CompletableFuture<InvocationResult> again = send("a", "y");
    tds.nextCall().answer();
    assertEquals("td-2", again.join().tdId(), "moved to a fresh TD");
  }

  /**
   * Issue 11: an Invoke whose deadline passed on a TD that lives is load, not loss. It answers as a
   * function timeout (504), gives up that instance, and keeps the TD for the next call.
   */
  @Test
  void aCallPastItsDeadlineOnALiveTdTimesOutItsInstanceAndKeepsTheTd() {
    CompletableFuture<InvocationResult> call = send("a", "x");
    Call c = tds.nextCall();
    c.fail(TdAgent.CallFailed.Kind.TIMED_OUT, "DEADLINE_EXCEEDED: deadline exceeded after 35s");
    InvocationResult r = call.join();
    assertEquals(FunctionError.Kind.TIMED_OUT, r.error().kind(), r.error().toString());
    assertEquals("Sandbox.Timedout", r.error().type());
    assertTrue(r.error().message().contains("TD td-1 is kept"), r.error().message());
    assertEquals(Map.of(), tds.retired, "a slow agent's TD must not be retired");
    assertEquals(List.of(c.instanceId()), tds.td("td-1").kills, "the timed-out instance is stopped");
    assertEquals(List.of(), warm(), "the timed-out instance is not warm any more");

    CompletableFuture<InvocationResult> next = send("a", "y");
    tds.nextCall().answer();
    assertEquals("td-1", next.join().tdId(), "the next call runs on the same TD");
  }

  @Test
  void aTdFoundDeadByTheTickIsRetiredAndACallOnItEndsAsTdLost() {
    CompletableFuture<InvocationResult> call = send("a", "x");
    Call c = tds.nextCall();
    tds.td("td-1").alive = false;
    scheduler().tick();
    assertTrue(tds.retired.get("td-1").contains("its process exited"), tds.retired.toString());
    c.fail(TdAgent.CallFailed.Kind.TD_LOST, "UNAVAILABLE");
    assertEquals(FunctionError.Kind.TD_LOST, call.join().error().kind());
    assertEquals(List.of(), warm());
  }

  @Test
  void aRefusedCallKeepsTheInstanceWarmAndACrashReplacesIt() {
    CompletableFuture<InvocationResult> refused = send("a", "1");
    Call c = tds.nextCall();
    c.fail(TdAgent.CallFailed.Kind.REFUSED, "INVALID_ARGUMENT (payload too large)");
    assertEquals(FunctionError.Kind.CRASHED, refused.join().error().kind());
    assertEquals(List.of("a/" + c.instanceId()), warm());

    CompletableFuture<InvocationResult> crashed = send("a", "2");
    Call c2 = tds.nextCall();
    assertEquals(c.instanceId(), c2.instanceId());
    c2.reply().complete(new TdAgent.Reply("req-2", null,
        new FunctionError(FunctionError.Kind.CRASHED, "Runtime.ExitError", "exited with 3", 3),
        c2.instanceId(), Duration.ofMillis(1)));
    assertEquals(3, crashed.join().error().exitStatus());
    assertEquals(List.of(), warm(), "the crashed instance is not warm any more");
    send("a", "3");
    assertEquals(2, tds.starts, "the next call starts a new instance");
  }

  /** Issue 13: the function must see its deployed name, version and memory, not the image's. */
  @Test
  void eachStartCarriesTheDeploymentItServesAndTheCallItsClientContext() {
    DeployedFunction orders = new DeployedFunction("orders", 7, ALICE_A.imageId(),
        List.of(FRAMEWORK.imageId()), 1, Duration.ofSeconds(30), 512);
    catalog.put("orders", orders);
    CompletableFuture<InvocationResult> call = scheduler().invoke(new InvocationRequest("orders", null,
        "x".getBytes(StandardCharsets.UTF_8), clock.instant().plusSeconds(60), "req-x", "",
        "{\"custom\":{\"k\":\"v\"}}", ""));
    Call c = tds.nextCall();
    assertEquals(List.of(orders), tds.td("td-1").started);
    assertEquals("{\"custom\":{\"k\":\"v\"}}", c.request().clientContext());
    c.answer();
    ok(call);

    dev.confaas.agent.v1.FunctionSettings wire = AgentLoader.settings(orders);
    assertEquals(List.of("orders", "7", 512, 30_000),
        List.of(wire.getName(), wire.getVersion(), wire.getMemoryMb(), wire.getTimeoutMs()));
  }

  @Test
  void aResponseTooLargeKeepsTheInstanceWarmAsTheAgentDoes() {
    CompletableFuture<InvocationResult> big = send("a", "1");
    Call c = tds.nextCall();
    c.reply().complete(new TdAgent.Reply("req-1", null,
        new FunctionError(FunctionError.Kind.RESPONSE_TOO_LARGE, "Function.ResponseSizeTooLarge", "7 MiB", -1),
        c.instanceId(), Duration.ofMillis(1)));
    assertEquals(FunctionError.Kind.RESPONSE_TOO_LARGE, big.join().error().kind());
    assertEquals(List.of("a/" + c.instanceId()), warm(), "the agent keeps that instance; so must we");
    CompletableFuture<InvocationResult> next = send("a", "2");
    Call c2 = tds.nextCall();
    assertEquals(c.instanceId(), c2.instanceId());
    c2.answer();
    ok(next);
    assertEquals(1, tds.starts);
  }

  @Test
  void keepAliveStopsAnIdleInstanceAndGivesItsTdBack() {
    CompletableFuture<InvocationResult> call = send("a", "x");
    Call c = tds.nextCall();
    c.answer();
    ok(call);
    clock.advance(KEEP_ALIVE.minusSeconds(1));
    scheduler().tick();
    assertEquals(List.of("a/" + c.instanceId()), warm(), "not yet");
    clock.advance(Duration.ofSeconds(1));
    scheduler().tick();
    assertEquals(List.of(c.instanceId()), tds.td("td-1").kills);
    assertEquals(List.of("td-1"), tds.released);
    assertEquals(Map.of(), scheduler().instancesByTd());
  }

  @Test
  void aBusyInstanceIsNotStoppedByKeepAlive() {
    send("a", "long");
    clock.advance(KEEP_ALIVE.plusMinutes(1));
    scheduler().tick();
    assertEquals(List.of(), tds.td("td-1").kills);
    assertEquals(List.of(), tds.released);
  }

  @Test
  void aFunctionsMetersGoAfterItHasBeenQuietOrIsDeleted() {
    send("a", "1");
    tds.nextCall().answer();
    send("c", "1");
    tds.nextCall().answer();
    assertNotNull(meters.find("confaas.scheduler.queue.depth").tag("function", "a").gauge());
    assertNotNull(meters.find("confaas.scheduler.invocation.latency").tag("function", "c").timer());

    catalog.remove("c");
    scheduler().tick();
    assertNotNull(meters.find("confaas.scheduler.instances").tag("function", "c").gauge(),
        "deleted but still has a warm instance");
    clock.advance(KEEP_ALIVE);
    scheduler().tick();
    assertNull(meters.find("confaas.scheduler.instances").tag("function", "c").gauge(),
        "deleted and without instances: forgotten at once");
    assertNull(meters.find("confaas.scheduler.invocation.latency").tag("function", "c").timer());
    assertNotNull(meters.find("confaas.scheduler.instances").tag("function", "a").gauge(),
        "a is deployed: kept for a keep-alive of quiet");
    clock.advance(KEEP_ALIVE);
    scheduler().tick();
    assertNull(meters.find("confaas.scheduler.queue.depth").tag("function", "a").gauge());
    assertNull(meters.find("confaas.scheduler.inflight").tag("function", "a").gauge());
    assertEquals(0, scheduler().functionsKnown());

    CompletableFuture<InvocationResult> back = send("a", "2");
    assertNotNull(meters.find("confaas.scheduler.queue.depth").tag("function", "a").gauge(),
        "a function that comes back gets its meters back");
    tds.nextCall().answer();
    assertEquals("2", ok(back));
  }

  @Test
  void unknownFunctionsAreNotFoundAndShutdownRejectsQueuedAndNewCalls() {
    InvocationRejectedException nf = rejected(send("nope", "x"));
    assertEquals(Reason.NOT_FOUND, nf.reason());
    assertTrue(nf.getMessage().contains("no function \"nope\" is deployed"), nf.getMessage());

    send("a", "running");
    CompletableFuture<InvocationResult> queued = send("a", "queued");
    send("c", "other");
    tds.nextCall();
    tds.nextCall().answer(); // c's call ends; its TD has no call running
    scheduler().close();
    assertEquals(Reason.SHUTTING_DOWN, rejected(queued).reason());
    assertEquals(Reason.SHUTTING_DOWN, rejected(send("a", "after")).reason());
    assertTrue(tds.retired.containsKey("td-2"), "an idle TD is given back at shutdown: " + tds.retired);
    assertFalse(tds.retired.containsKey("td-1"), "a TD with a call running waits for it");
  }

  @Test
  void anInstanceMovesOnlyAlongItsStateMachine() {
    FunctionLane fn = new FunctionLane(catalog.get("a"), clock.instant());
    Instance i = new Instance(fn, clock.instant());
    assertThrows(IllegalStateException.class, () -> i.moveTo(Instance.State.BUSY), "not started yet");
    i.moveTo(Instance.State.IDLE);
    i.moveTo(Instance.State.BUSY);
    assertThrows(IllegalStateException.class, () -> i.moveTo(Instance.State.STOPPING), "busy");
    i.moveTo(Instance.State.IDLE);
    i.moveTo(Instance.State.STOPPING);
    assertThrows(IllegalStateException.class, () -> i.moveTo(Instance.State.IDLE));
    i.moveTo(Instance.State.GONE);
    assertThrows(IllegalStateException.class, () -> i.moveTo(Instance.State.GONE));
  }
}
