package dev.confaas.agent;

import java.time.Duration;
import java.util.Objects;

/**
 * Deadlines of {@link AgentClient}'s calls by kind, and how read-only calls are retried. Each
 * deadline bounds one call as a whole, retries included. Invoke has none here: its deadline is the
 * function's timeout plus a grace, given per call.
 *
 * @param load AddManifest, one AddBlob stream, Finalize
 * @param start Start (the agent spawns the instance's process)
 * @param control Kill
 * @param inspect Inspect
 * @param report Report (the agent asks its TDX module for a quote)
 * @param readAttempts how many times Inspect and Report are sent at most when the transport is
 *     UNAVAILABLE (1 = no retry); other calls are sent once
 * @param readBackoff the wait before the first retry, doubled before each further one
 */
public record AgentClientConfig(
    Duration load,
    Duration start,
    Duration control,
    Duration inspect,
    Duration report,
    int readAttempts,
    Duration readBackoff) {

  public static final AgentClientConfig DEFAULTS =
      new AgentClientConfig(
          Duration.ofSeconds(60),
          Duration.ofSeconds(30),
          Duration.ofSeconds(10),
          Duration.ofSeconds(5),
          Duration.ofSeconds(30),
          3,
          Duration.ofMillis(100));

  public AgentClientConfig {
    positive(load, "load");
    positive(start, "start");
    positive(control, "control");
    positive(inspect, "inspect");
    positive(report, "report");
    Objects.requireNonNull(readBackoff, "readBackoff");
    if (readBackoff.isNegative()) {
      throw new IllegalArgumentException("readBackoff must not be negative, got " + readBackoff);
    }
    if (readAttempts < 1 || readAttempts > 10) {
      throw new IllegalArgumentException(
          "readAttempts must be 1 (no retry) to 10, got " + readAttempts);
    }
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " deadline must be positive, got " + d);
    }
  }

  public AgentClientConfig withLoad(Duration d) {
    return new AgentClientConfig(d, start, control, inspect, report, readAttempts, readBackoff);
  }

  public AgentClientConfig withStart(Duration d) {
    return new AgentClientConfig(load, d, control, inspect, report, readAttempts, readBackoff);
  }

  public AgentClientConfig withControl(Duration d) {
    return new AgentClientConfig(load, start, d, inspect, report, readAttempts, readBackoff);
  }

  public AgentClientConfig withInspect(Duration d) {
    return new AgentClientConfig(load, start, control, d, report, readAttempts, readBackoff);
  }

  public AgentClientConfig withReport(Duration d) {
    return new AgentClientConfig(load, start, control, inspect, d, readAttempts, readBackoff);
  }

  public AgentClientConfig withRetries(int attempts, Duration backoff) {
    return new AgentClientConfig(load, start, control, inspect, report, attempts, backoff);
  }
}
