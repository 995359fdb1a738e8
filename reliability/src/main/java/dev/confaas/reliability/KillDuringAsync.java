package dev.confaas.reliability;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Scenario 5: {@code kill -9} of the platform while 200 async invocations are in progress, then a
 * restart on the same data directory. Every invocation that was answered {@code 202} must end
 * {@code SUCCEEDED} with its own event echoed back: none lost, none mixed up. (Run-time duplicates,
 * allowed by at-least-once, cannot be seen from outside and are not counted.)
 */
final class KillDuringAsync {
  private final int count;

  KillDuringAsync(int count) {
    this.count = count;
  }

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess up = h.up;
    // 100 ms of work each, so that the kill meets some done, some running and some queued.
    h.deployShell("rel-async", "#!/bin/sh\nsleep 0.1\ncat\n");
    ExecutorService pool = Executors.newFixedThreadPool(16);
    long t0 = System.nanoTime();
    List<Future<String[]>> submissions = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String event = "event-" + i;
      submissions.add(pool.submit(() -> {
        GatewayCalls.Answer a = h.http.invokeAsync(up.url, "rel-async",
            event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(60));
        String id = a.status() == 202 ? a.json().path("invocationId").asText() : null;
        return new String[] {event, id, a.kind()};
      }));
    }
    Map<String, String> accepted = new TreeMap<>(); // id -> event
    Map<String, Integer> refused = new TreeMap<>();
    for (Future<String[]> f : submissions) {
      String[] s = f.get();
      if (s[1] != null) {
        accepted.put(s[1], s[0]);
      } else {
        refused.merge(s[2], 1, Integer::sum);
      }
    }
    double submitSeconds = Harness.secondsSince(t0);
    r.figure("submitted", count);
    r.figure("accepted202", accepted.size());
    r.figure("refusedAtSubmit", refused);
    r.figure("submitSeconds", submitSeconds);
    r.check(accepted.size() == count, (count - accepted.size()) + " of " + count
        + " submissions were not accepted: " + refused);

    Thread.sleep(1_000);
    Map<String, Integer> before = states(h, up, accepted, pool);
    List<Long> agents = UpProcess.alive(up.agentPids());
    Harness.log("scenario 5: kill -9 of PID " + up.pid + " with async states " + before);
    up.kill9();
    boolean died = up.waitExit(Duration.ofSeconds(30));
    r.figure("statesAtKill", before);
    r.figure("platformExitedAfterKill", died);
    Thread.sleep(5_000);
    r.figure("agentsAliveAtKill", agents.size());
    r.figure("agentsStillAlive5sAfterKill", UpProcess.alive(agents).size());

    UpProcess again = h.startUp("restart after kill -9 (scenario 5)");
    r.figure("restartSeconds", again.startup.toMillis() / 1000.0);
    // Poll every accepted invocation in rounds until each is final or 3 minutes have passed.
    long t1 = System.nanoTime();
    Map<String, AsyncCalls.Outcome> outcomes = new TreeMap<>();
    List<String> pending = new ArrayList<>(accepted.keySet());
    double lastDone = 0;
    while (!pending.isEmpty()) {
      List<Future<AsyncCalls.Outcome>> round = new ArrayList<>();
      for (String id : pending) {
        round.add(pool.submit(() -> AsyncCalls.status(h.http, again.url, id, t1)));
      }
      List<String> still = new ArrayList<>();
      for (Future<AsyncCalls.Outcome> f : round) {
        AsyncCalls.Outcome o = f.get();
        outcomes.put(o.id(), o);
        if (o.terminal()) {
          lastDone = Math.max(lastDone, o.seconds());
        } else {
          still.add(o.id());
        }
      }
      pending = still;
      if (pending.isEmpty() || System.nanoTime() - t1 > Duration.ofMinutes(3).toNanos()) {
        break;
      }
      Thread.sleep(1_000);
    }
    Map<String, Integer> finalStates = new TreeMap<>();
    List<String> wrong = new ArrayList<>();
    List<String> lost = new ArrayList<>();
    for (AsyncCalls.Outcome o : outcomes.values()) {
      finalStates.merge(o.state(), 1, Integer::sum);
      if (o.state().equals("SUCCEEDED")) {
        String got = new String(o.result(), StandardCharsets.UTF_8).strip();
        if (!got.equals(accepted.get(o.id()))) {
          wrong.add(o.id() + ": expected " + accepted.get(o.id()) + ", got "
              + AsyncCalls.shorten(got));
        }
      } else if (!o.terminal()) {
        lost.add(o.id() + " " + o.describe());
      }
    }
    pool.shutdownNow();
    r.figure("finalStates", finalStates);
    r.figure("lost", lost.size());
    r.figure("lostExamples", lost.stream().limit(5).toList());
    r.figure("wrongResults", wrong.size());
    r.figure("wrongResultExamples", wrong.stream().limit(5).toList());
    r.figure("secondsAfterRestartUntilAllFinal", lastDone);
    int succeeded = finalStates.getOrDefault("SUCCEEDED", 0);
    r.check(lost.isEmpty(), lost.size() + " accepted invocations never finished (lost)");
    r.check(wrong.isEmpty(), wrong.size() + " invocations succeeded with another event's result");
    r.check(succeeded == accepted.size(), (accepted.size() - succeeded) + " of " + accepted.size()
        + " accepted invocations did not succeed: " + finalStates);
    r.summary = accepted.size() + "/" + count + " accepted; at kill: " + before
        + "; after restart (" + Harness.seconds(again.startup) + " s): " + finalStates + ", lost "
        + lost.size();
  }

  private static Map<String, Integer> states(Harness h, UpProcess up, Map<String, String> accepted,
      ExecutorService pool) throws Exception {
    long t = System.nanoTime();
    List<Future<AsyncCalls.Outcome>> fs = new ArrayList<>();
    for (String id : accepted.keySet()) {
      fs.add(pool.submit(() -> AsyncCalls.status(h.http, up.url, id, t)));
    }
    Map<String, Integer> out = new TreeMap<>();
    for (Future<AsyncCalls.Outcome> f : fs) {
      out.merge(f.get().state(), 1, Integer::sum);
    }
    return out;
  }
}
