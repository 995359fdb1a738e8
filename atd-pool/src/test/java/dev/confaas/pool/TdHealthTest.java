package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.agent.AgentCallException;
import dev.confaas.pool.TdHealth.Outcome;
import dev.confaas.pool.TdHealth.State;
import dev.confaas.pool.TdHealth.Verdict;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, defect 7: health is liveness. Checks that come back late (an overloaded host) never
 * make a TD lost; a dead process, a channel failing or an agent silent for the liveness limit, and
 * repeated unreachability do.
 */
class TdHealthTest {
  private static final Duration LIMIT = Duration.ofMinutes(3);
  private static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  private static Verdict judge(State s, boolean alive, boolean failing, Outcome o, Duration at) {
    return TdHealth.judge(LIMIT, s, alive, failing, o, T0.plus(at));
  }

  @Test
  void lateAnswersUnderLoadNeverLoseATdWithinTheLivenessLimit() {
    State s = State.attestedAt(T0);
    // A check every 10 s for almost the whole limit, every one timing out.
    for (int i = 1; i * 10L < LIMIT.toSeconds(); i++) {
      Verdict v = judge(s, true, false, Outcome.LATE, Duration.ofSeconds(i * 10L));
      assertNull(v.lost(), "check " + i + ": " + v.lost());
      s = v.next();
    }
    assertEquals(0, s.unreachableInARow(), "late is not unreachable");
  }

  @Test
  void anAgentSilentForTheLivenessLimitIsLostThoughItsProcessRuns() {
    State s = State.attestedAt(T0);
    s = judge(s, true, false, Outcome.ANSWERED, Duration.ofSeconds(30)).next();
    assertNull(judge(s, true, false, Outcome.PENDING, Duration.ofSeconds(30).plus(LIMIT).minusMillis(1))
        .lost());
    Verdict v = judge(s, true, false, Outcome.PENDING, Duration.ofSeconds(30).plus(LIMIT));
    assertNotNull(v.lost());
    assertTrue(v.lost().contains("has not answered for PT3M"), v.lost());
  }

  @Test
  void anExitedProcessIsLostAtOnce() {
    Verdict v = judge(State.attestedAt(T0), false, false, Outcome.PENDING, Duration.ofSeconds(1));
    assertEquals("its process exited", v.lost());
  }

  @Test
  void unreachableOnThreeChecksInARowIsLostAndAnAnswerInBetweenResetsTheCount() {
    State s = State.attestedAt(T0);
    s = judge(s, true, false, Outcome.UNREACHABLE, Duration.ofSeconds(10)).next();
    s = judge(s, true, false, Outcome.UNREACHABLE, Duration.ofSeconds(20)).next();
    s = judge(s, true, false, Outcome.ANSWERED, Duration.ofSeconds(30)).next();
    s = judge(s, true, false, Outcome.UNREACHABLE, Duration.ofSeconds(40)).next();
    s = judge(s, true, false, Outcome.LATE, Duration.ofSeconds(50)).next();
    Verdict second = judge(s, true, false, Outcome.UNREACHABLE, Duration.ofSeconds(60));
    assertNull(second.lost(), "2 in a row (a late check between neither counts nor resets)");
    Verdict third = judge(second.next(), true, false, Outcome.UNREACHABLE, Duration.ofSeconds(70));
    assertNotNull(third.lost());
    assertTrue(third.lost().contains("unreachable on 3 checks in a row"), third.lost());
  }

  @Test
  void aChannelFailingIsLostOnlyOnceItHasFailedForTheLivenessLimit() {
    State s = State.attestedAt(T0);
    Verdict first = judge(s, true, true, Outcome.PENDING, Duration.ofSeconds(10));
    assertNull(first.lost());
    assertEquals(T0.plusSeconds(10), first.next().channelFailingSince());
    // It recovers for a moment: the count starts again.
    State recovered = judge(first.next(), true, false, Outcome.PENDING, Duration.ofSeconds(20)).next();
    assertNull(recovered.channelFailingSince());
    State again = judge(recovered, true, true, Outcome.PENDING, Duration.ofSeconds(30)).next();
    // Answers keep coming in between (a channel flapping), so silence does not decide it.
    again = new State(T0.plus(LIMIT), again.unreachableInARow(), again.channelFailingSince());
    assertNull(judge(again, true, true, Outcome.PENDING, Duration.ofSeconds(29).plus(LIMIT)).lost());
    Verdict v = judge(again, true, true, Outcome.PENDING, Duration.ofSeconds(30).plus(LIMIT));
    assertNotNull(v.lost());
    assertTrue(v.lost().contains("channel has been failing for PT3M"), v.lost());
  }

  @Test
  void aDeadlineIsLateOtherTransportFailuresAreUnreachableAndAnyAgentAnswerIsAnAnswer() {
    assertEquals(Outcome.LATE,
        WarmPool.outcomeOf(AgentCallException.from(Status.DEADLINE_EXCEEDED.asRuntimeException())));
    assertEquals(Outcome.UNREACHABLE,
        WarmPool.outcomeOf(AgentCallException.from(Status.UNAVAILABLE.asRuntimeException())));
    assertEquals(Outcome.ANSWERED,
        WarmPool.outcomeOf(AgentCallException.from(Status.INTERNAL.asRuntimeException())));
    assertEquals(Outcome.ANSWERED,
        WarmPool.outcomeOf(AgentCallException.from(Status.RESOURCE_EXHAUSTED.asRuntimeException())));
  }
}
