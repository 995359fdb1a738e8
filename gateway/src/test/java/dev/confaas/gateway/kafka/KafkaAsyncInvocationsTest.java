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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
}
