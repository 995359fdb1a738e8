package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class InMemoryAsyncInvocationsTest {

  /** A clock the test moves by hand. */
  static final class StepClock extends Clock {
    Instant now = Instant.parse("2026-11-22T07:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  final StepClock clock = new StepClock();
  final TestInvoker invoker = new TestInvoker();
  final InMemoryAsyncInvocations async =
      new InMemoryAsyncInvocations(invoker, clock, Duration.ofMinutes(10), Duration.ofSeconds(30));

  String submit(String function, String payload) {
    return async.submit(new AsyncInvocations.Submission(function, null,
        payload.getBytes(StandardCharsets.UTF_8), null, "trace-1")).join();
  }

  @Test
  void resultsAreKeptForTheRetentionThenForgotten() {
    String id = submit("upper", "abc");
    AsyncInvocations.Status s = async.status(id).orElseThrow();
    assertEquals(AsyncInvocations.State.SUCCEEDED, s.state());
    assertEquals("ABC", new String(s.result(), StandardCharsets.UTF_8));
    assertEquals(TestInvoker.TD, s.tdId());
    assertEquals(clock.now.plusSeconds(30), invoker.seen.get(0).deadline(),
        "a submission without a timeout gets the default");
    assertEquals(id, invoker.seen.get(0).requestId(), "the function sees the invocation ID");

    clock.now = clock.now.plus(Duration.ofMinutes(10));
    assertTrue(async.status(id).isPresent(), "kept for exactly the retention");
    clock.now = clock.now.plusSeconds(1);
    assertTrue(async.status(id).isEmpty(), "forgotten after the retention");
  }

  @Test
  void rejectionsAndFunctionErrorsAreRecorded() {
    AsyncInvocations.Status rejected =
        async.status(submit("reject-UNAVAILABLE", "")).orElseThrow();
    assertEquals(AsyncInvocations.State.REJECTED, rejected.state());
    assertEquals("UNAVAILABLE", new JsonObject(rejected.error()).getString("reason"));
    assertNull(rejected.result());

    AsyncInvocations.Status failed = async.status(submit("fail-CRASHED", "")).orElseThrow();
    assertEquals(AsyncInvocations.State.FAILED, failed.state());
    assertEquals(137, new JsonObject(failed.error()).getInteger("exitStatus"));
    assertNotNull(failed.finishedAt());
  }

  @Test
  void closedRefusesNewSubmissions() {
    async.close();
    Throwable t = async.submit(new AsyncInvocations.Submission("upper", null, new byte[0], null,
        null)).handle((id, err) -> err).join();
    assertTrue(t instanceof dev.confaas.scheduler.InvocationRejectedException, String.valueOf(t));
  }
}
