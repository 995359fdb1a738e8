package dev.confaas.reliability;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scenario 7: 64 concurrent callers for 60 s on the 2-core machine (issue 11, defect 7: the pool
 * killed slow but live TDs, callers got 502 TD_LOST and INIT_FAILED, throughput fell to ~9/s with
 * p50 6 s). Closed loop: each caller sends its next call when the last is answered, to a shell
 * function that echoes its event ({@code cat}, deployed with the defaults: concurrency 10, timeout
 * 30 s). Every answer is counted by status and problem reason. Pass: no TD_LOST or INIT_FAILED,
 * and every answer is 200 (with the caller's own event) or 429/503 with Retry-After.
 */
final class Overload {
  private final int callers;
  private final Duration length;

  Overload(int callers, Duration length) {
    this.callers = callers;
    this.length = length;
  }

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess up = h.up;
    h.deployShell("rel-echo", "#!/bin/sh\ncat\n");
    GatewayCalls.Answer warm = h.http.invoke(up.url, "rel-echo",
        "warm".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(90));
    r.figure("warmUpCall", warm.kind());
    int fromLine = up.lineCount();

    long start = System.nanoTime();
    long end = start + length.toNanos();
    List<Caller> all = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < callers; i++) {
      Caller c = new Caller(h, up, i, end);
      all.add(c);
      Thread t = new Thread(c, "caller-" + i);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(); // each call has a 90 s client timeout, so this ends
    }
    double seconds = Harness.secondsSince(start);

    Map<String, Integer> byKind = new TreeMap<>();
    List<Long> okNanos = new ArrayList<>();
    List<Long> allNanos = new ArrayList<>();
    int bad = 0;
    int tdLost = 0;
    int initFailed = 0;
    int wrongBody = 0;
    List<String> badExamples = new ArrayList<>();
    for (Caller c : all) {
      for (Call call : c.calls) {
        String kind = call.kind;
        boolean backPressure = call.status == 429 || call.status == 503;
        if (backPressure) {
          kind += call.retryAfter ? " with Retry-After" : " WITHOUT Retry-After";
        }
        byKind.merge(kind, 1, Integer::sum);
        allNanos.add(call.nanos);
        if (call.status == 200) {
          okNanos.add(call.nanos);
          if (!call.echoed) {
            wrongBody++;
          }
        } else if (!(backPressure && call.retryAfter)) {
          bad++;
          if (badExamples.size() < 5) {
            badExamples.add(kind + ": " + call.detail);
          }
        }
        tdLost += kind.contains("TD_LOST") ? 1 : 0;
        initFailed += kind.contains("INIT_FAILED") ? 1 : 0;
      }
    }
    int ok = okNanos.size();
    r.figure("callers", callers);
    r.figure("seconds", seconds);
    r.figure("answers", allNanos.size());
    r.figure("answersByKind", byKind);
    r.figure("throughput200PerSecond", round(ok / seconds));
    r.figure("throughputAllPerSecond", round(allNanos.size() / seconds));
    r.figure("latency200Ms", percentiles(okNanos));
    r.figure("latencyAllMs", percentiles(allNanos));
    r.figure("tdLost", tdLost);
    r.figure("initFailed", initFailed);
    r.figure("otherFailures", bad - tdLost - initFailed);
    r.figure("failureExamples", badExamples);
    r.figure("wrongBodies", wrongBody);
    List<String> tdTrouble = new ArrayList<>();
    for (String needle : List.of("DEADLINE_EXCEEDED", "did not serve", "lost mid-invocation",
        "did not answer Inspect")) {
      int n = up.linesSince(fromLine, needle).size();
      if (n > 0) {
        tdTrouble.add(needle + ": " + n);
      }
    }
    r.figure("platformLogTdTrouble", tdTrouble);
    r.figure("platformAlive", up.alive());

    r.check(tdLost == 0, tdLost + " answers were 502 TD_LOST");
    r.check(initFailed == 0, initFailed + " answers were 502 INIT_FAILED");
    r.check(bad == 0,
        bad + " answers were neither 200 nor 429/503 with Retry-After: " + badExamples);
    r.check(wrongBody == 0, wrongBody + " 200 answers did not echo the caller's event");
    r.check(ok > 0, "no call succeeded");
    Map<String, Object> p = percentiles(okNanos);
    r.summary = String.format("%d answers in %.0f s: %s; %.1f ok/s; 200s: p50 %s, p99 %s",
        allNanos.size(), seconds, byKind, ok / seconds, human(p.get("p50")), human(p.get("p99")));
  }

  /** Milliseconds as {@code 850 ms} or {@code 13.9 s}. */
  private static String human(Object ms) {
    if (!(ms instanceof Double d)) {
      return "-";
    }
    return d < 1000 ? String.format("%.0f ms", d) : String.format("%.1f s", d / 1000);
  }

  private static double round(double v) {
    return Math.round(v * 10) / 10.0;
  }

  /** p50, p90, p99 and max in milliseconds (nearest rank), or empty with no samples. */
  static Map<String, Object> percentiles(List<Long> nanos) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (nanos.isEmpty()) {
      return out;
    }
    long[] s = nanos.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(s);
    for (double q : new double[] {50, 90, 99}) {
      int rank = (int) Math.ceil(q / 100 * s.length);
      out.put("p" + (int) q, Math.round(s[Math.max(0, rank - 1)] / 1e5) / 10.0);
    }
    out.put("max", Math.round(s[s.length - 1] / 1e5) / 10.0);
    return out;
  }

  /** One answer. */
  private record Call(int status, String kind, boolean retryAfter, boolean echoed, long nanos,
      String detail) {}

  /** A caller in a closed loop until {@code end}. */
  private static final class Caller implements Runnable {
    final Harness h;
    final UpProcess up;
    final int number;
    final long end;
    final List<Call> calls = new ArrayList<>();

    Caller(Harness h, UpProcess up, int number, long end) {
      this.h = h;
      this.up = up;
      this.number = number;
      this.end = end;
    }

    @Override
    public void run() {
      int i = 0;
      while (System.nanoTime() < end) {
        String event = "caller-" + number + "-" + i++;
        GatewayCalls.Answer a = h.http.invoke(up.url, "rel-echo",
            event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(90));
        calls.add(new Call(a.status(), a.kind(), a.header("retry-after").isPresent(),
            a.status() == 200 && a.text().strip().equals(event), a.nanos(),
            a.status() == 200 ? "" : AsyncCalls.shorten(a.status() < 0 ? a.error() : a.text())));
        if (a.status() == 429 || a.status() == 503) {
          // A well-behaved client waits as told (capped, so the test keeps its pace).
          long wait = a.header("retry-after").map(v -> {
            try {
              return Long.parseLong(v.strip()) * 1000;
            } catch (NumberFormatException e) {
              return 1000L;
            }
          }).orElse(1000L);
          try {
            Thread.sleep(Math.min(wait, 2_000));
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }
  }
}
