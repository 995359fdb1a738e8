package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;

/**
 * Where instances start, against in-memory TDs: placement reads what each TD holds from the pool's
 * record (plus the chains of starts in flight), packs one signer's functions, keeps refusing
 * policies apart, and respects the image and instance limits. Milliseconds per test.
 */
class InstanceStarterTest {
  private static final ImageFacts FRAMEWORK = FakeTds.framework();
  private static final ImageFacts ALICE_A = FakeTds.function("alice", "a");
  private static final ImageFacts ALICE_B = FakeTds.function("alice", "b");
  private static final ImageFacts BOB_C = FakeTds.function("bob", "c");
  private static final ImageFacts ALICE_SOLO = FakeTds.withMaxInstances(FakeTds.function("alice", "solo"), 1);
  /** Accepts only itself and refuses the vendor framework it depends on. */
  private static final ImageFacts LONER =
      FakeTds.image("carol", "loner", List.of("sha384/" + FakeTds.hex("carol") + "/*"), true);

  private final PinnedClock clock = new PinnedClock(Instant.parse("2026-11-22T08:00:00Z"));
  private final FakeTds tds = new FakeTds();
  private final Map<String, DeployedFunction> catalog = new ConcurrentHashMap<>();
  private final Map<String, ImageFacts> repository = new ConcurrentHashMap<>();
  private final ManualExecutor manual = new ManualExecutor();
  private Executor starts = Runnable::run;
  private Scheduler scheduler;

  InstanceStarterTest() {
    for (ImageFacts f : List.of(FRAMEWORK, ALICE_A, ALICE_B, BOB_C, ALICE_SOLO, LONER)) {
      repository.put(f.imageId(), f);
    }
    deploy("a", ALICE_A, 1);
    deploy("b", ALICE_B, 1);
    deploy("c", BOB_C, 1);
    deploy("solo", ALICE_SOLO, 2);
    deploy("loner", LONER, 1);
  }

  private void deploy(String name, ImageFacts image, int concurrency) {
    catalog.put(name, new DeployedFunction(name, 1, image.imageId(), List.of(FRAMEWORK.imageId()),
        concurrency, Duration.ofSeconds(30), 128));
  }

  private Scheduler scheduler() {
    if (scheduler == null) {
      scheduler = new Scheduler(
          (name, version) -> Optional.ofNullable(catalog.get(name)),
          tds,
          new ImageFactsCache(id -> Optional.ofNullable(repository.get(id))
              .orElseThrow(() -> new IllegalStateException(id + " is not in the image repository")), 64),
          new SchedulerConfig(10, Duration.ofMinutes(10), 8, 4,
              Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofMillis(250)),
          clock, null, Runnable::run, starts, new SimpleMeterRegistry());
    }
    return scheduler;
  }

  /** Sends a call and lets the agent answer it at once; returns the TD it ran on. */
  private String runOn(String function) {
    CompletableFuture<InvocationResult> f = send(function);
    tds.nextCall().answer();
    InvocationResult r = f.join();
    assertTrue(r.succeeded(), String.valueOf(r.error()));
    return r.tdId();
  }

  private CompletableFuture<InvocationResult> send(String function) {
    return scheduler().invoke(new InvocationRequest(function, null, "e".getBytes(StandardCharsets.UTF_8),
        clock.instant().plusSeconds(60), "r", ""));
  }

  @Test
  void oneSignersFunctionsShareATdAndAnotherSignersGoElsewhere() {
    String a = runOn("a");
    String b = runOn("b");
    String c = runOn("c");
    assertEquals(a, b, "alice's functions are packed together");
    assertFalse(c.equals(a), "bob's function refuses alice's images");
    assertEquals(List.of(ALICE_B.imageId()), tds.td(b).loads.subList(2, 3), "only the missing image loads");
    assertEquals(List.of(FRAMEWORK.imageId(), ALICE_A.imageId(), ALICE_B.imageId()), tds.td(a).held,
        "the pool's record is what the TD holds");
  }

  @Test
  void placementReadsWhatThePoolRecordsATdHolds() {
    String a = runOn("a");
    // The pool's record is the truth, whatever the scheduler loaded: make it say the TD holds bob's
    // image instead of alice's, and alice's next function must not join it.
    tds.td(a).held.set(1, BOB_C.imageId());
    String b = runOn("b");
    assertFalse(b.equals(a), "placed next to an image whose policy it refuses: " + tds.td(a).held);
    // And back: a TD the pool records as holding alice's images takes her next function.
    tds.td(a).held.set(1, ALICE_A.imageId());
    deploy("b2", ALICE_B, 1);
    assertEquals(b, runOn("b2"), "the TD already holding the image is preferred");
  }

  @Test
  void aStartInFlightReservesItsChainSoAnotherStartIsJudgedAgainstIt() {
    starts = manual;
    send("a");
    List<CompletableFuture<InvocationResult>> bob = new ArrayList<>();
    // While a's chain is about to load into its fresh TD (nothing recorded by the pool yet), bob's
    // start is placed: it must see alice's reserved chain there and take another TD.
    tds.beforeLoad = () -> {
      bob.add(send("c"));
      manual.runAll();
    };
    manual.runAll();
    tds.calls.forEach(FakeTds.Call::answer);
    String aTd = tds.handedOut.get(0).id();
    String bobTd = bob.get(0).join().tdId();
    assertFalse(bobTd.equals(aTd), "bob's start ignored alice's start in flight on " + aTd);
    assertFalse(tds.td(aTd).held.contains(BOB_C.imageId()));
  }

  @Test
  void aTdAtThePoolsImageLimitIsNotLoadedFurther() {
    tds.maxImagesPerTd = 2;
    String a = runOn("a");
    String b = runOn("b");
    assertFalse(b.equals(a), "a third image would push " + a + " past maxImagesPerTd");
  }

  @Test
  void anImagesMaxInstancesSpreadsItsInstancesOverTds() {
    CompletableFuture<InvocationResult> first = send("solo");
    CompletableFuture<InvocationResult> second = send("solo");
    FakeTds.Call one = tds.nextCall();
    FakeTds.Call two = tds.nextCall();
    assertFalse(one.td().id().equals(two.td().id()), "maxInstances 1 per TD");
    one.answer();
    two.answer();
    assertTrue(first.join().succeeded() && second.join().succeeded());
  }

  @Test
  void aChainWhosePoliciesRefuseEachOtherIsUnavailableWithTheReason() {
    CompletableFuture<InvocationResult> f = send("loner");
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    InvocationRejectedException r = assertInstanceOf(InvocationRejectedException.class, e.getCause());
    assertEquals(Reason.UNAVAILABLE, r.reason());
    assertTrue(r.getMessage().contains("cannot be loaded into one TD together"), r.getMessage());
    assertEquals(List.of(), tds.handedOut, "no TD taken for a function that fits none");
  }

  @Test
  void theImageCacheIsBoundedAndNamesAMissingImage() {
    ImageFactsCache cache = new ImageFactsCache(
        id -> Optional.ofNullable(repository.get(id))
            .orElseThrow(() -> new IllegalStateException(id + " is not in the image repository")), 2);
    for (ImageFacts f : repository.values()) {
      assertEquals(f, cache.get(f.imageId()));
    }
    assertTrue(cache.size() <= 2, "cache holds " + cache.size());
    DeployedFunction gone = new DeployedFunction("gone", 1, "sha384/" + FakeTds.hex("x") + "/" + FakeTds.hex("y"),
        List.of(), 1, Duration.ofSeconds(1), 128);
    IllegalStateException missing = assertThrows(IllegalStateException.class, () -> cache.chain(gone));
    assertTrue(missing.getMessage().contains("function \"gone\"")
        && missing.getMessage().contains("is not in the image repository"), missing.getMessage());
  }
}
