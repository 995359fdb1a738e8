package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.await;
import static dev.confaas.gateway.kafka.KafkaTestSupport.error;
import static dev.confaas.gateway.kafka.KafkaTestSupport.function;
import static dev.confaas.gateway.kafka.KafkaTestSupport.ok;
import static dev.confaas.gateway.kafka.KafkaTestSupport.text;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.gateway.AsyncInvocations.State;
import dev.confaas.gateway.AsyncInvocations.Status;
import dev.confaas.gateway.AsyncInvocations.Submission;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationResult;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable async invocations on one real embedded broker. */
class KafkaAsyncInvocationsTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir static Path brokerDir;
  static EmbeddedKafka kafka;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(brokerDir, 0);
  }

  @AfterAll
  static void stopBroker() {
    kafka.close();
  }

  /** A clock the test moves by hand. */
  static final class TestClock extends Clock {
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-22T08:00:00Z"));

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  private static Submission submission(String function, String payload) {
    return new Submission(function, null, utf8(payload), Duration.ofSeconds(30), "trace-1");
  }

  @Test
  void anInvocationAcceptedBeforeARestartCompletesAfterItAndItsStatusIsReadable() throws Exception {
    TestClock clock = new TestClock();
    // Before the restart the platform never gets to run it (the function hangs).
    FunctionInvoker hangs = r -> new CompletableFuture<>();
    String id;
    try (KafkaAsyncInvocations before =
        KafkaAsyncInvocations.start(kafka.platformClients(), hangs, clock, Duration.ofHours(1), 2, 4)) {
      id = before.submit(submission("resize", "photo-1")).get(30, TimeUnit.SECONDS);
      assertTrue(before.status(id).isPresent(), "status is known right after submit");
    }
    FunctionInvoker works =
        function(r -> ok(r, utf8("resized " + text(r.payload()) + " for " + r.requestId())));
    try (KafkaAsyncInvocations after =
        KafkaAsyncInvocations.start(kafka.platformClients(), works, clock, Duration.ofHours(1), 2, 4)) {
      assertTrue(after.status(id).isPresent(), "the status survives the restart");
      await("the invocation accepted before the restart succeeds after it",
          () -> after.status(id).map(s -> s.state() == State.SUCCEEDED).orElse(false),
          () -> String.valueOf(after.status(id)));
      Status s = after.status(id).orElseThrow();
      assertEquals("resized photo-1 for " + id, text(s.result()), "the request ID is the invocation ID");
      assertEquals("resize", s.function());
      assertEquals("td-test", s.tdId());
      assertEquals(clock.instant(), s.acceptedAt());
    }
    // A third start reads the recorded outcome back without running it again.
    FunctionInvoker mustNotRun =
        r -> CompletableFuture.failedFuture(new AssertionError("ran an invocation whose outcome was recorded"));
    try (KafkaAsyncInvocations third =
        KafkaAsyncInvocations.start(kafka.platformClients(), mustNotRun, clock, Duration.ofHours(1), 2, 4)) {
      assertEquals(State.SUCCEEDED, third.status(id).orElseThrow().state());
      // Results are forgotten after the retention.
      clock.now.set(clock.instant().plus(Duration.ofHours(2)));
      assertTrue(third.status(id).isEmpty(), "the result should expire after the retention");
    }
  }

  @Test
  void functionErrorsAndRejectionsAreRecordedAsFailedAndRejected() throws Exception {
    FunctionInvoker fn = r -> {
      String p = text(r.payload());
      if (p.equals("missing")) {
        return CompletableFuture.failedFuture(
            new InvocationRejectedException(InvocationRejectedException.Reason.NOT_FOUND, "no function 'ghost'"));
      }
      CompletableFuture<InvocationResult> f = new CompletableFuture<>();
      f.complete(error(r, "BadInput", "cannot parse " + p));
      return f;
    };
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      String failed = a.submit(submission("parse", "garbage")).get(30, TimeUnit.SECONDS);
      String rejected = a.submit(submission("ghost", "missing")).get(30, TimeUnit.SECONDS);
      await("both finish", () -> a.status(failed).map(s -> s.finishedAt() != null).orElse(false)
          && a.status(rejected).map(s -> s.finishedAt() != null).orElse(false));
      Status f = a.status(failed).orElseThrow();
      assertEquals(State.FAILED, f.state());
      assertTrue(f.error().contains("\"errorType\":\"BadInput\""), f.error());
      Status r = a.status(rejected).orElseThrow();
      assertEquals(State.REJECTED, r.state());
      assertTrue(r.error().contains("\"reason\":\"NOT_FOUND\""), r.error());
    }
  }

  /**
   * A sealed invocation keeps its ciphertext and TD through the queue: it runs pinned to that TD, its
   * status holds the TD's sealed response (a function error's too), and a TD that is gone ends it
   * {@code REJECTED} with reason {@code TD_GONE} after one try, not retried.
   */
  @Test
  void sealedInvocationsRunPinnedKeepTheSealedResponseAndEndOnceWhenTheirTdIsGone() throws Exception {
    java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> calls = new java.util.concurrent.ConcurrentHashMap<>();
    byte[] sealedResponse = {0x5e, 0x41, 0x1e, 0x0d};
    FunctionInvoker tds = r -> {
      calls.computeIfAbsent(r.targetTd() + ":" + text(r.sealedRequest()),
          k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
      if (!r.isSealed() || r.payload().length != 0) {
        return CompletableFuture.failedFuture(new AssertionError("a sealed invocation ran as a plain one: " + r));
      }
      return switch (r.targetTd()) {
        case "td-gone" -> CompletableFuture.failedFuture(new InvocationRejectedException(
            InvocationRejectedException.Reason.TD_GONE, "TD td-gone is not in service"));
        case "td-fails" -> CompletableFuture.completedFuture(new InvocationResult(r.requestId(), null,
            new dev.confaas.scheduler.FunctionError(dev.confaas.scheduler.FunctionError.Kind.HANDLED, "", "", -1),
            "td-fails", "sha384/img", "i-1", Duration.ZERO, "jws.receipt.sig", sealedResponse));
        default -> CompletableFuture.completedFuture(new InvocationResult(r.requestId(), sealedResponse, null,
            r.targetTd(), "sha384/img", "i-1", Duration.ZERO, "jws.receipt.sig", sealedResponse));
      };
    };
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), tds, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      String ok = a.submit(sealed("td-1", "ct-ok")).get(30, TimeUnit.SECONDS);
      String fails = a.submit(sealed("td-fails", "ct-fails")).get(30, TimeUnit.SECONDS);
      String gone = a.submit(sealed("td-gone", "ct-gone")).get(30, TimeUnit.SECONDS);
      assertTrue(a.status(ok).orElseThrow().sealed(), "a queued sealed invocation says so");
      for (String id : List.of(ok, fails, gone)) {
        await("sealed invocation " + id + " finishes",
            () -> a.status(id).map(s -> s.finishedAt() != null).orElse(false), () -> String.valueOf(a.status(id)));
      }
      Status s = a.status(ok).orElseThrow();
      assertEquals(State.SUCCEEDED, s.state());
      assertTrue(s.sealed());
      org.junit.jupiter.api.Assertions.assertArrayEquals(sealedResponse, s.result());
      assertEquals("td-1", s.tdId());
      assertEquals("jws.receipt.sig", s.receipt());

      Status f = a.status(fails).orElseThrow();
      assertEquals(State.FAILED, f.state());
      org.junit.jupiter.api.Assertions.assertArrayEquals(sealedResponse, f.result(),
          "the sealed error document is kept for the caller");
      assertTrue(f.error().contains("\"kind\":\"HANDLED\""), f.error());

      Status g = a.status(gone).orElseThrow();
      assertEquals(State.REJECTED, g.state(), String.valueOf(g));
      assertTrue(g.error().contains("\"reason\":\"TD_GONE\""), g.error());
      assertTrue(g.sealed() && g.result() == null && g.tdId() == null, String.valueOf(g));
      assertEquals(1, calls.get("td-gone:ct-gone").get(), "a TD that is gone is not retried: " + calls);
      assertEquals(1, calls.get("td-1:ct-ok").get(), String.valueOf(calls));
    }
  }

  private static Submission sealed(String td, String ciphertext) {
    return new Submission("sealed-fn", null, utf8(ciphertext), Duration.ofSeconds(30), null, "", td, true);
  }

  /** Issue 11, defect 3: a ~900 KB result used to stop the async worker for good. */
  @Test
  void aLargeResultIsStoredAndLaterInvocationsStillRun() throws Exception {
    byte[] big = new byte[900_000];
    java.util.Arrays.fill(big, (byte) 'r');
    FunctionInvoker fn = r -> CompletableFuture.completedFuture(
        text(r.payload()).equals("big") ? ok(r, big) : ok(r, utf8("small")));
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      String large = a.submit(submission("print", "big")).get(30, TimeUnit.SECONDS);
      await("the 900 KB result is stored", () -> a.status(large).map(s -> s.state() == State.SUCCEEDED).orElse(false),
          () -> String.valueOf(a.status(large)));
      assertEquals(900_000, a.status(large).orElseThrow().result().length);
      String later = a.submit(submission("print", "after")).get(30, TimeUnit.SECONDS);
      await("a later invocation still runs", () -> a.status(later).map(s -> s.state() == State.SUCCEEDED).orElse(false));
    }
  }

  /** Issue 11, defect 3: bodies from 800,000 bytes up to the documented 6 MiB were refused (503). */
  @Test
  void bodiesUpToTheDocumentedLimitAreAcceptedAndReachTheFunctionUnchanged() throws Exception {
    FunctionInvoker digest = r -> CompletableFuture.completedFuture(ok(r, utf8(r.payload().length + ":" + sha256(r.payload()))));
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), digest, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      for (int size : new int[] {800_000, 1024 * 1024 + 1, 6 * 1024 * 1024}) {
        byte[] body = new byte[size];
        new java.util.Random(size).nextBytes(body);
        String id = a.submit(new Submission("digest", null, body, Duration.ofSeconds(30), null)).get(60, TimeUnit.SECONDS);
        await("the " + size + "-byte invocation succeeds",
            () -> a.status(id).map(s -> s.state() == State.SUCCEEDED).orElse(false), () -> String.valueOf(a.status(id)));
        assertEquals(size + ":" + sha256(body), text(a.status(id).orElseThrow().result()));
      }
    }
  }

  /** Issue 11, defect 8: one slow invocation used to hold back every other one polled with it. */
  @Test
  void oneSlowInvocationDoesNotHoldBackTheOthers() throws Exception {
    CompletableFuture<Void> release = new CompletableFuture<>();
    FunctionInvoker fn = r -> text(r.payload()).equals("slow")
        ? release.thenApply(x -> ok(r, utf8("slow done")))
        : CompletableFuture.completedFuture(ok(r, utf8("quick")));
    try (KafkaAsyncInvocations a = KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(),
        Duration.ofHours(1), 1, 8)) {
      String slow = a.submit(submission("sleepy", "slow")).get(30, TimeUnit.SECONDS);
      java.util.List<String> quick = new java.util.ArrayList<>();
      for (int i = 0; i < 24; i++) {
        quick.add(a.submit(submission("sleepy", "quick-" + i)).get(30, TimeUnit.SECONDS));
      }
      await("all 24 trivial invocations finish while the slow one still runs",
          () -> quick.stream().allMatch(id -> a.status(id).map(s -> s.state() == State.SUCCEEDED).orElse(false)),
          () -> quick.stream().map(id -> String.valueOf(a.status(id).map(Status::state).orElse(null))).toList().toString());
      assertEquals(State.RUNNING, a.status(slow).orElseThrow().state());
      release.complete(null);
      await("the slow one finishes too", () -> a.status(slow).map(s -> s.state() == State.SUCCEEDED).orElse(false));
    } finally {
      release.complete(null);
    }
  }

  /** Issue 11, defect 3: a result that cannot be stored ends its invocation FAILED with a reason. */
  @Test
  void aResultThatCannotBeStoredEndsFailedWithAReasonAndTheWorkerGoesOn() throws Exception {
    byte[] tooLarge = new byte[9 * 1024 * 1024]; // over any record the platform's topics take
    FunctionInvoker fn = r -> CompletableFuture.completedFuture(
        text(r.payload()).equals("huge") ? ok(r, tooLarge) : ok(r, utf8("fine")));
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      String huge = a.submit(submission("print", "huge")).get(30, TimeUnit.SECONDS);
      await("the invocation whose result is too large ends", () -> a.status(huge).map(s -> s.finishedAt() != null)
          .orElse(false), () -> String.valueOf(a.status(huge)));
      Status s = a.status(huge).orElseThrow();
      assertEquals(State.FAILED, s.state());
      assertTrue(s.error().contains("\"reason\":\"RESULT_NOT_STORED\""), s.error());
      assertTrue(s.error().contains("RecordTooLarge"), "the reason says why: " + s.error());
      assertEquals("td-test", s.tdId(), "where it ran is still known");
      String later = a.submit(submission("print", "after")).get(30, TimeUnit.SECONDS);
      await("a later invocation still runs", () -> a.status(later).map(x -> x.state() == State.SUCCEEDED).orElse(false));
    }
  }

  /** An invocation record the worker cannot read ends FAILED with a reason; it is not logged and skipped. */
  @Test
  void anInvocationRecordTheWorkerCannotReadEndsFailed() throws Exception {
    FunctionInvoker fn = function(r -> ok(r, utf8("ran")));
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      KafkaTestSupport.produce(kafka.platformClients(), List.of(new ProducerRecord<>(
          KafkaAsyncInvocations.INVOCATIONS_TOPIC, utf8("broken-1"), utf8("{not json"))));
      await("the unreadable invocation ends", () -> a.status("broken-1").isPresent(),
          () -> String.valueOf(a.status("broken-1")));
      Status s = a.status("broken-1").orElseThrow();
      assertEquals(State.FAILED, s.state());
      assertTrue(s.error().contains("\"reason\":\"UNREADABLE\""), s.error());
      assertTrue(s.error().contains("cannot be read"), s.error());
    }
  }

  /** Invocations queued in the first record format (one JSON value, base64 payload) still run. */
  @Test
  void invocationsQueuedInTheFirstFormatStillRun() throws Exception {
    FunctionInvoker fn = function(r -> ok(r, utf8("got " + text(r.payload()))));
    try (KafkaAsyncInvocations a =
        KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(), Duration.ofHours(1), 2, 4)) {
      String legacy = "{\"id\":\"legacy-1\",\"function\":\"old\",\"version\":null,\"payload\":\""
          + java.util.Base64.getEncoder().encodeToString(utf8("queued before")) + "\",\"timeoutMs\":30000,"
          + "\"traceId\":null,\"acceptedAt\":\"2026-11-22T08:00:00Z\"}";
      KafkaTestSupport.produce(kafka.platformClients(), List.of(new ProducerRecord<>(
          KafkaAsyncInvocations.INVOCATIONS_TOPIC, utf8("legacy-1"), utf8(legacy))));
      await("the legacy invocation succeeds", () -> a.status("legacy-1").map(s -> s.state() == State.SUCCEEDED)
          .orElse(false), () -> String.valueOf(a.status("legacy-1")));
      assertEquals("got queued before", text(a.status("legacy-1").orElseThrow().result()));
    }
  }

  /**
   * Memory is bounded: with a status cache too small to hold any result, results are read back
   * from the compacted topic; with an index of 3 entries, older invocations are forgotten.
   */
  @Test
  void statusesOutsideTheCacheAreReadBackAndTheIndexIsBounded() throws Exception {
    FunctionInvoker fn = function(r -> ok(r, utf8("result of " + text(r.payload()))));
    KafkaAsyncInvocations.Tuning tiny = new KafkaAsyncInvocations.Tuning(3, 1, 64L * 1024 * 1024,
        Duration.ofSeconds(30), TriggerRunner.Options.defaults());
    try (KafkaAsyncInvocations a = KafkaAsyncInvocations.start(kafka.platformClients(), fn, Clock.systemUTC(),
        Duration.ofHours(1), 2, 4, new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), tiny)) {
      java.util.List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        String id = a.submit(submission("echo", "n" + i)).get(30, TimeUnit.SECONDS);
        ids.add(id);
        await("invocation " + i + " succeeds", () -> a.status(id).map(s -> s.state() == State.SUCCEEDED)
            .orElse(false), () -> String.valueOf(a.status(id)));
        assertEquals("result of n" + i, text(a.status(id).orElseThrow().result()),
            "read back from " + KafkaAsyncInvocations.RESULTS_TOPIC);
      }
      await("the index keeps at most 3 invocations", () -> ids.stream().filter(id -> a.status(id).isPresent())
          .count() <= 3);
      assertTrue(a.status(ids.get(5)).isPresent(), "the newest is known");
    }
  }

  static String sha256(byte[] b) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
