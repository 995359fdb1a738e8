package dev.confaas.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** Asynchronous invocations as a client makes them: submit (202 + ID), then poll the status. */
final class AsyncCalls {
  private AsyncCalls() {}

  /**
   * Where an async invocation ended up.
   *
   * @param submitted the submission's answer ({@code 202}, or a status with its problem reason)
   * @param state the last state seen ({@code SUCCEEDED}, {@code FAILED}, {@code QUEUED}...), or
   *     {@code NOT_SUBMITTED} / {@code UNKNOWN} (404) / {@code UNREADABLE}
   * @param result the result's bytes when {@code SUCCEEDED}
   * @param error the status's {@code error}, or why the status could not be read
   */
  record Outcome(String id, String submitted, String state, byte[] result, String error,
      double seconds) {
    /** State, result size, submission status when not 202, time: for tables. */
    String brief() {
      return (submitted.equals("202") ? state : "not accepted: " + submitted)
          + (result != null ? " (" + result.length + " bytes)" : "") + " after " + seconds + " s";
    }

    /** {@link #brief} with the error: for failure messages. */
    String describe() {
      return brief() + (error != null && !error.isEmpty() ? " (" + shorten(error) + ")" : "");
    }

    boolean terminal() {
      return state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("REJECTED");
    }
  }

  /** Submits, then polls every 250 ms until a final state or {@code within} passed. */
  static Outcome submitAndWait(GatewayCalls http, URI base, String function, byte[] event,
      Duration within) throws InterruptedException {
    long t0 = System.nanoTime();
    GatewayCalls.Answer a = http.invokeAsync(base, function, event, Duration.ofSeconds(60));
    if (a.status() != 202) {
      return new Outcome(
          null, a.kind(), "NOT_SUBMITTED", null, detail(a), Harness.secondsSince(t0));
    }
    String id;
    try {
      id = a.json().path("invocationId").asText();
    } catch (IOException e) {
      return new Outcome(null, "202", "UNREADABLE", null,
          "202 without an invocationId: " + a.text(),
          Harness.secondsSince(t0));
    }
    return waitFor(http, base, id, t0, within);
  }

  /** Polls {@code id} until a final state or {@code within} (from {@code t0}) passed. */
  static Outcome waitFor(GatewayCalls http, URI base, String id, long t0, Duration within)
      throws InterruptedException {
    Outcome last;
    do {
      last = status(http, base, id, t0);
      if (last.terminal()) {
        return last;
      }
      Thread.sleep(250);
    } while (System.nanoTime() - t0 < within.toNanos());
    return last;
  }

  /** One look at {@code id}'s status. */
  static Outcome status(GatewayCalls http, URI base, String id, long t0) {
    GatewayCalls.Answer s = http.invocation(base, id);
    if (s.status() == 404) {
      return new Outcome(
          id, "202", "UNKNOWN", null, "404 " + shorten(s.text()), Harness.secondsSince(t0));
    }
    if (s.status() != 200) {
      return new Outcome(id, "202", "UNREADABLE", null, s.kind(), Harness.secondsSince(t0));
    }
    try {
      JsonNode n = s.json();
      String state = n.path("state").asText("UNREADABLE");
      byte[] result = null;
      if (n.hasNonNull("result")) {
        String text = n.get("result").asText();
        result = "base64".equals(n.path("resultEncoding").asText())
            ? Base64.getDecoder().decode(text) : text.getBytes(StandardCharsets.UTF_8);
      }
      String error = n.hasNonNull("error") ? n.get("error").toString() : null;
      return new Outcome(id, "202", state, result, error, Harness.secondsSince(t0));
    } catch (IOException | IllegalArgumentException e) {
      return new Outcome(id, "202", "UNREADABLE", null, e.getMessage(), Harness.secondsSince(t0));
    }
  }

  /** A problem's {@code detail}, else the body (or the I/O error). */
  static String detail(GatewayCalls.Answer a) {
    if (a.status() < 0) {
      return a.error();
    }
    try {
      String d = a.json().path("detail").asText(null);
      if (d != null) {
        return d;
      }
    } catch (IOException e) {
      // not JSON: the body itself
    }
    return shorten(a.text());
  }

  static String shorten(String s) {
    String one = s.replace('\n', ' ');
    return one.length() > 240 ? one.substring(0, 240) + "..." : one;
  }
}
