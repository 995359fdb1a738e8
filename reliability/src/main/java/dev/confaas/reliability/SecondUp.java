package dev.confaas.reliability;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Scenario 2: a second {@code confaas up} on the data directory of the running one (issue 11,
 * defect 2: it exited with "Failed to acquire lock" and the first died with a corrupt Kafka
 * metadata log). The second must be refused, exit 1, with a message naming the first's PID and
 * gateway port; the first must keep serving, synchronous calls and Kafka-backed async ones alike.
 */
final class SecondUp {

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess first = h.up;
    int fromLine = first.lineCount();
    List<String> args = UpProcess.command(h.root, h.dataDir);
    Harness.CliRun second =
        h.cli(Duration.ofMinutes(2), args.subList(args.indexOf("up"), args.size()));
    String said = (second.out() + second.err()).strip();
    r.figure("secondExitCode", second.code());
    r.figure("secondSeconds", second.took().toMillis() / 1000.0);
    r.figure("secondMessage", said.length() > 600 ? said.substring(0, 600) + "..." : said);
    r.check(second.code() == 1, "the second up exited " + second.code() + ", expected 1");
    r.check(said.contains("PID " + first.pid),
        "the second up's message does not name the first's PID " + first.pid);
    r.check(said.contains("port " + first.url.getPort()),
        "the second up's message does not name the first's gateway port " + first.url.getPort());

    boolean alive = first.alive();
    r.figure("firstAlive", alive);
    r.check(alive, "the first platform died");
    GatewayCalls.Answer sync = h.http.invoke(first.url, "hello",
        "after-second-up".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(60));
    r.figure("firstSyncCall", sync.kind());
    r.check(sync.status() == 200, "a call to the first platform got " + sync.kind());
    AsyncCalls.Outcome async = AsyncCalls.submitAndWait(h.http, first.url, "hello",
        "async-after-second-up".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(90));
    r.figure("firstAsyncCall", async.describe());
    r.check(async.state().equals("SUCCEEDED"),
        "an async call to the first platform (Kafka) ended " + async.describe());
    List<String> corrupt = first.linesSince(fromLine, "CorruptRecordException");
    r.figure("corruptRecordLines", corrupt.size());
    r.check(corrupt.isEmpty(), "the first platform logged CorruptRecordException");
    r.summary = "second up: exit " + second.code() + (said.contains("PID " + first.pid)
        ? ", names PID and port" : ", message: " + firstLine(said)) + "; first: sync "
        + sync.kind() + ", async " + async.brief();
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
