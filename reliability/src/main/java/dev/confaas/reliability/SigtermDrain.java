package dev.confaas.reliability;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Scenario 6: SIGTERM to {@code confaas up} (its process group, as Ctrl-C or {@code kill} sends it)
 * 1.5 s into a 5 s call (issue 11, defect 6: the TDs were killed while the gateway drained and the
 * call got 502 TD_LOST). The call must return 200 with its answer. Also recorded: what a call made
 * while the platform drains gets, how long the platform took to exit and its exit code, and whether
 * any TD agent outlived it. This scenario stops the platform; it runs last.
 */
final class SigtermDrain {

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess up = h.up;
    h.deployShell("rel-patient",
        "#!/bin/sh\nevent=$(cat)\nif [ \"$event\" = slow ]; then sleep 5; fi\n"
            + "echo \"done:$event\"\n");
    GatewayCalls.Answer warm = h.http.invoke(up.url, "rel-patient",
        "warm".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(90));
    r.figure("warmUpCall", warm.kind());

    CompletableFuture<GatewayCalls.Answer> slow = CompletableFuture.supplyAsync(() ->
        h.http.invoke(up.url, "rel-patient", "slow".getBytes(StandardCharsets.UTF_8),
            Duration.ofSeconds(90)));
    Thread.sleep(1_500);
    List<Long> agents = UpProcess.alive(up.agentPids());
    long signalled = System.nanoTime();
    up.signalGroup("TERM");
    Thread.sleep(500);
    GatewayCalls.Answer duringDrain = GatewayCalls.fresh(up.url, "/v1/functions/hello/invoke",
        "during-drain".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30));

    GatewayCalls.Answer answer = slow.get(120, TimeUnit.SECONDS);
    double answeredAfter = Harness.secondsSince(signalled);
    boolean exited = up.waitExit(Duration.ofSeconds(120));
    double exitedAfter = Harness.secondsSince(signalled);
    Thread.sleep(2_000);
    List<Long> leftover = UpProcess.alive(agents);

    r.figure("slowCall", answer.kind());
    r.figure("slowCallBody", answer.status() == 200 ? answer.text().strip()
        : AsyncCalls.shorten(answer.text()));
    r.figure("slowCallAnsweredSecondsAfterSigterm", answeredAfter);
    r.figure("newCallDuringDrain", duringDrain.kind() + duringDrain.header("retry-after")
        .map(v -> " Retry-After " + v).orElse(""));
    r.figure("platformExited", exited);
    r.figure("platformExitSecondsAfterSigterm", exited ? exitedAfter : null);
    r.figure("platformExitCode", exited ? up.process.exitValue() : null);
    r.figure("agentsAtSigterm", agents.size());
    r.figure("agentsLeftRunning", leftover.size());
    r.figure("stoppingLinePrinted",
        up.output().contains("stopping (in-flight invocations finish first)"));
    r.check(answer.status() == 200 && answer.text().strip().equals("done:slow"),
        "the 5 s call in flight at SIGTERM got " + answer.kind() + ": "
            + AsyncCalls.shorten(answer.text()));
    if (!exited) {
      up.kill9();
    }
    String exit = exited ? up.process.exitValue() + " after " + exitedAfter + " s"
        : "none within 120 s (killed)";
    r.summary = "call in flight: " + answer.kind() + " after " + answeredAfter + " s; new call"
        + " while draining: " + duringDrain.kind() + "; exit " + exit + "; agents left: "
        + leftover.size();
  }
}
