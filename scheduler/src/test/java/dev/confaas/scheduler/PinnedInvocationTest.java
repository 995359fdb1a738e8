package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.FakeTds.Call;
import dev.confaas.scheduler.FakeTds.FakeTd;
import dev.confaas.scheduler.FakeTds.PinnedClock;
import dev.confaas.scheduler.InvocationRejectedException.Reason;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Invocations that must run in one TD (sealed ones, {@link InvocationRequest#targetTd()}), against
 * in-memory TDs: they use an instance there or start one there, and are refused with a reason the
 * gateway can name when the TD is gone or cannot take the function. The receipt and sealed response
 * the agent returns reach the result unchanged.
 */
class PinnedInvocationTest {
  private static final ImageFacts FRAMEWORK = FakeTds.framework();
  private static final ImageFacts ALICE_A = FakeTds.function("alice", "a");
  private static final ImageFacts BOB_C = FakeTds.function("bob", "c");
  private static final byte[] SEALED = {0, 0, 32, 0, 1, 0, 1, 42};

  private final PinnedClock clock = new PinnedClock(Instant.parse("2026-11-22T08:00:00Z"));
  private final FakeTds tds = new FakeTds();
  private final Map<String, DeployedFunction> catalog = new ConcurrentHashMap<>();
  private final Map<String, ImageFacts> repository = new ConcurrentHashMap<>();
  private Scheduler scheduler;

  PinnedInvocationTest() {
    for (ImageFacts f : List.of(FRAMEWORK, ALICE_A, BOB_C)) {
      repository.put(f.imageId(), f);
    }
    catalog.put("a", deployment("a", ALICE_A, 2));
    catalog.put("c", deployment("c", BOB_C, 1));
  }

  private static DeployedFunction deployment(String name, ImageFacts image, int concurrency) {
    return new DeployedFunction(name, 1, image.imageId(), List.of(FRAMEWORK.imageId()), concurrency,
        Duration.ofSeconds(30), 128);
  }

  private Scheduler scheduler() {
    if (scheduler == null) {
      scheduler = new Scheduler(
          (name, version) -> Optional.ofNullable(catalog.get(name)),
          tds,
          new ImageFactsCache(id -> Optional.ofNullable(repository.get(id)).orElseThrow(), 64),
          new SchedulerConfig(2, Duration.ofMinutes(10), 8, 4,
              Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofMillis(250)),
          clock, null, Runnable::run, Runnable::run, new SimpleMeterRegistry());
    }
    return scheduler;
  }

  private CompletableFuture<InvocationResult> plain(String function, String event) {
    return scheduler().invoke(new InvocationRequest(function, null, event.getBytes(StandardCharsets.UTF_8),
        clock.instant().plus(Duration.ofMinutes(1)), "req-" + event, ""));
  }

  private CompletableFuture<InvocationResult> sealed(String function, String tdId) {
    return scheduler().invoke(InvocationRequest.sealed(function, null, SEALED, tdId,
        clock.instant().plus(Duration.ofMinutes(1)), "req-sealed", ""));
  }

  private static InvocationRejectedException rejected(CompletableFuture<InvocationResult> f) {
    assertTrue(f.isDone(), "the call was neither run nor rejected");
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    return assertInstanceOf(InvocationRejectedException.class, e.getCause());
  }

  @Test
  void aSealedCallStartsAnInstanceInItsIdleTdAndGetsTheSealedResponseAndReceipt() {
    FakeTd target = tds.idle("td-sealed");
    CompletableFuture<InvocationResult> f = sealed("a", "td-sealed");
    assertEquals(List.of(FRAMEWORK.imageId(), ALICE_A.imageId()), target.loads,
        "the function is loaded into the TD the request was sealed to");
    Call c = tds.nextCall();
    assertEquals(target, c.td());
    assertArrayEquals(SEALED, c.request().sealedRequest(), "the sealed request reaches the agent as it came");
    assertEquals(0, c.request().payload().length, "no plain event travels with it");
    c.answerSealed(new byte[] {7, 7}, "h.p.s");

    InvocationResult r = f.join();
    assertEquals("td-sealed", r.tdId());
    assertEquals("h.p.s", r.receipt());
    assertArrayEquals(new byte[] {7, 7}, r.sealedResponse());
    assertTrue(r.sealed() && r.succeeded());
  }

  @Test
  void aSealedCallTakesTheIdleInstanceInItsTdNotOneElsewhere() {
    CompletableFuture<InvocationResult> first = plain("a", "one");
    tds.nextCall().answer();
    String tdOfFirst = first.join().tdId();

    CompletableFuture<InvocationResult> f = sealed("a", tdOfFirst);
    Call c = tds.nextCall();
    assertEquals(first.join().instanceId(), c.instanceId(), "the warm instance in that TD takes it");
    c.answerSealed(new byte[] {1}, "r");
    assertEquals(tdOfFirst, f.join().tdId());
    assertEquals(1, tds.handedOut.size(), "no other TD was needed");
  }

  @Test
  void aTdThatIsNotInServiceIsGone() {
    InvocationRejectedException e = rejected(sealed("a", "td-nowhere"));
    assertEquals(Reason.TD_GONE, e.reason());
    assertTrue(e.getMessage().contains("td-nowhere") && e.getMessage().contains("evidence"), e.getMessage());

    CompletableFuture<InvocationResult> first = plain("a", "one");
    tds.nextCall().answer();
    FakeTd td = tds.td(first.join().tdId());
    td.acceptsWork = false; // draining
    assertEquals(Reason.TD_GONE, rejected(sealed("a", td.id())).reason());
  }

  @Test
  void aTdWhosePoliciesRefuseTheFunctionIsRefusedNamingThePolicy() {
    CompletableFuture<InvocationResult> alice = plain("a", "one");
    tds.nextCall().answer();
    String aliceTd = alice.join().tdId();

    InvocationRejectedException e = rejected(sealed("c", aliceTd));
    assertEquals(Reason.TD_REFUSES_FUNCTION, e.reason());
    assertTrue(e.getMessage().contains("launch policies"), e.getMessage());
    assertEquals(List.of(FRAMEWORK.imageId(), ALICE_A.imageId()), tds.td(aliceTd).held,
        "nothing of bob's was loaded next to alice's function");

    // The TD still serves its own function.
    CompletableFuture<InvocationResult> again = plain("a", "two");
    tds.nextCall().answer();
    assertEquals(aliceTd, again.join().tdId());
  }

  @Test
  void aSealedRequestTheAgentRefusesIsRejectedAndTheInstanceStaysWarm() {
    CompletableFuture<InvocationResult> first = plain("a", "one");
    tds.nextCall().answer();
    String td = first.join().tdId();

    CompletableFuture<InvocationResult> f = sealed("a", td);
    tds.nextCall().fail(TdAgent.CallFailed.Kind.SEALED_REFUSED, "PERMISSION_DENIED: does not open");
    InvocationRejectedException e = rejected(f);
    assertEquals(Reason.SEALED_REQUEST_REFUSED, e.reason());
    assertTrue(e.getMessage().contains("sealed for another function"), e.getMessage());

    CompletableFuture<InvocationResult> next = plain("a", "two");
    Call c = tds.nextCall();
    assertEquals(first.join().instanceId(), c.instanceId(), "the same instance serves the next call");
    c.answer();
    assertEquals("TWO", new String(next.join().payload(), StandardCharsets.UTF_8));
  }

  @Test
  void aPinnedTdIsKeptWhileItsCallWaitsAndGivenBackAfter() {
    tds.idle("td-p");
    CompletableFuture<InvocationResult> f = sealed("a", "td-p");
    scheduler().tick();
    assertTrue(tds.released.isEmpty() && tds.retired.isEmpty(), "the TD went while its call ran");
    tds.nextCall().answerSealed(new byte[] {1}, "r");
    assertEquals("td-p", f.join().tdId());
  }

  @Test
  void prepareStartsOneInstanceWithoutAnEventAndTheWarmTdsAreListed() {
    assertEquals(List.of(), scheduler().tdsWithWarmInstances("a", ALICE_A.imageId()));
    CompletableFuture<Void> ready = scheduler().prepare("a", null);
    assertTrue(ready.isDone() && !ready.isCompletedExceptionally(), "the instance started at once here");
    assertTrue(tds.calls.isEmpty(), "no event was sent");
    List<String> warm = scheduler().tdsWithWarmInstances("a", ALICE_A.imageId());
    assertEquals(List.of("td-1"), warm);
    assertTrue(scheduler().prepare("a", null).isDone(), "a warm instance: nothing to start");
    assertEquals(1, tds.starts);
    assertEquals(List.of(), scheduler().tdsWithWarmInstances("a", "sha384/other"), "another version");

    // Then a sealed call to the listed TD is served there by that instance.
    CompletableFuture<InvocationResult> f = sealed("a", warm.get(0));
    tds.nextCall().answerSealed(new byte[] {1}, "r");
    assertEquals(warm.get(0), f.join().tdId());
    assertEquals(1, tds.starts);

    ExecutionException e = assertThrows(ExecutionException.class, () -> scheduler().prepare("nope", null).get());
    assertEquals(Reason.NOT_FOUND, assertInstanceOf(InvocationRejectedException.class, e.getCause()).reason());
  }
}
