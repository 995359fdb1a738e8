package dev.confaas.pool;

import java.time.Duration;
import java.time.Instant;

/**
 * Whether a TD in service is lost, as a pure function of what its health checks saw, so the rule is
 * tested without a TD. {@link WarmPool} observes and applies it.
 *
 * <p>The rule is liveness, not speed: on a loaded host an agent answers late, and killing it then
 * turns overload into lost calls and a boot storm. So a TD is lost only when
 *
 * <ul>
 *   <li>its process (or VM) exited;
 *   <li>its channel has been failing (TRANSIENT_FAILURE or SHUTDOWN) for {@code livenessLimit};
 *   <li>its agent was unreachable (UNAVAILABLE and the like: refused or reset, not merely late) on
 *       {@value #UNREACHABLE_CHECKS} checks in a row; or
 *   <li>its agent has answered nothing for {@code livenessLimit} though its process runs (a wedged
 *       or stopped agent).
 * </ul>
 *
 * A check that timed out (DEADLINE_EXCEEDED) proves nothing but load: it neither counts as
 * unreachable nor as an answer.
 */
final class TdHealth {
  /** Consecutive unreachable checks after which a TD is lost. */
  static final int UNREACHABLE_CHECKS = 3;

  private TdHealth() {}

  /** What one check of the agent got. */
  enum Outcome {
    /** The agent answered (whatever it said: an answer proves it is alive). */
    ANSWERED,
    /** No answer within the check's deadline: slow, perhaps overloaded. */
    LATE,
    /** The call could not reach the agent (UNAVAILABLE, CANCELLED, UNKNOWN). */
    UNREACHABLE,
    /** The previous check is still waiting for its answer; nothing new was asked. */
    PENDING
  }

  /**
   * What the checks so far saw of one TD.
   *
   * @param lastAnswer when its agent last answered (at first: when it was attested)
   * @param unreachableInARow consecutive checks that could not reach the agent
   * @param channelFailingSince since when its channel is failing; null while it is not
   */
  record State(Instant lastAnswer, int unreachableInARow, Instant channelFailingSince) {
    static State attestedAt(Instant at) {
      return new State(at, 0, null);
    }
  }

  /** The state after a check, and why the TD is lost (null: keep it). */
  record Verdict(State next, String lost) {}

  static Verdict judge(
      Duration livenessLimit,
      State s,
      boolean processAlive,
      boolean channelFailing,
      Outcome outcome,
      Instant now) {
    if (!processAlive) {
      return new Verdict(s, "its process exited");
    }
    if (outcome == Outcome.ANSWERED) {
      return new Verdict(new State(now, 0, null), null);
    }
    Instant failingSince =
        channelFailing ? (s.channelFailingSince() == null ? now : s.channelFailingSince()) : null;
    int unreachable =
        outcome == Outcome.UNREACHABLE ? s.unreachableInARow() + 1 : s.unreachableInARow();
    State next = new State(s.lastAnswer(), unreachable, failingSince);
    if (failingSince != null && !Duration.between(failingSince, now).minus(livenessLimit).isNegative()) {
      return new Verdict(next, "its channel has been failing for "
          + Duration.between(failingSince, now) + " (pool.livenessLimit " + livenessLimit + ")");
    }
    if (unreachable >= UNREACHABLE_CHECKS) {
      return new Verdict(next, "its agent was unreachable on " + unreachable + " checks in a row");
    }
    Duration silent = Duration.between(s.lastAnswer(), now);
    if (!silent.minus(livenessLimit).isNegative()) {
      return new Verdict(next, "its agent has not answered for " + silent
          + " though its process runs (pool.livenessLimit " + livenessLimit + ")");
    }
    return new Verdict(next, null);
  }
}
