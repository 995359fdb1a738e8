package dev.confaas.reliability;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs the load-and-fault scenarios of issue 11 against {@code confaas up} started as a separate
 * process from the built CLI, writes every figure to a results JSON and prints a Markdown table.
 * Exit status 0 when every scenario passed, 1 when one failed, 2 on a usage error.
 *
 * <pre>
 * java -cp reliability/target/classes:... dev.confaas.reliability.ReliabilityRun \
 *     [--root DIR] [--work DIR] [--out FILE] [--only 1,2,...] [--idle-connections N]
 *     [--callers N] [--load-seconds N] [--async-invocations N]
 * </pre>
 *
 * <p>Scenarios run in an order that keeps one's damage from hiding another's result: those that
 * leave the platform as they found it first, the kill -9 and restart next, those that may break the
 * async worker or a trigger partition after, and the SIGTERM, which stops the platform, last. A
 * scenario that finds the platform dead starts it again (and says so), so one failure does not
 * fail the rest.
 */
public final class ReliabilityRun {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  /** The run's settings. */
  record Options(Path root, Path work, Path out, Set<Integer> only, int idleConnections,
      int callers, Duration loadLength, int asyncInvocations) {

    static Options parse(String[] args) {
      Path root = Path.of(System.getProperty("confaas.root", ".")).toAbsolutePath().normalize();
      Path work = null;
      Path out = null;
      Set<Integer> only = new LinkedHashSet<>(List.of(1, 2, 3, 4, 5, 6, 7));
      int idle = 25_000;
      int callers = 64;
      int seconds = 60;
      int async = 200;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String v = i + 1 < args.length ? args[i + 1] : null;
        if (v == null) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        switch (a) {
          case "--root" -> root = Path.of(v).toAbsolutePath().normalize();
          case "--work" -> work = Path.of(v).toAbsolutePath();
          case "--out" -> out = Path.of(v).toAbsolutePath();
          case "--only" -> {
            only = new LinkedHashSet<>();
            for (String n : v.split(",")) {
              only.add(Integer.parseInt(n.strip()));
            }
          }
          case "--idle-connections" -> idle = Integer.parseInt(v);
          case "--callers" -> callers = Integer.parseInt(v);
          case "--load-seconds" -> seconds = Integer.parseInt(v);
          case "--async-invocations" -> async = Integer.parseInt(v);
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
        i++;
      }
      String stamp = STAMP.format(Instant.now());
      if (work == null) {
        work = root.resolve("reliability/target/run-" + stamp);
      }
      if (out == null) {
        out = root.resolve("reliability/results/" + stamp + ".json");
      }
      return new Options(root, work, out, only, idle, callers, Duration.ofSeconds(seconds), async);
    }
  }

  /** A scenario: its number (issue 11's list), title, pass rule and body. */
  private record Scenario(int number, String title, String passRule, Body body) {}

  private interface Body {
    void run(Harness h, ScenarioResult r) throws Exception;
  }

  private ReliabilityRun() {}

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("reliability: " + e.getMessage());
      System.exit(2);
      return;
    }
    List<ScenarioResult> results = run(o);
    System.exit(results.stream().allMatch(ScenarioResult::passed) ? 0 : 1);
  }

  /** Runs the chosen scenarios, writes {@code o.out()}, prints the table; returns the results. */
  static List<ScenarioResult> run(Options o) throws IOException, InterruptedException {
    List<Scenario> order = List.of(
        new Scenario(2, "second `up` on the same data dir",
            "exit 1 naming the running PID and port; the first still answers sync and async calls",
            (h, r) -> new SecondUp().run(h, r)),
        new Scenario(1, String.format("%,d idle TCP connections", o.idleConnections()),
            "platform alive; normal calls on new connections succeed (from 127.0.0.1 while one"
                + " address holds its connections; after the silent connections are cut when 50"
                + " addresses fill the server-wide cap); no disconnect logged as an error",
            (h, r) -> new IdleConnections(o.idleConnections()).run(h, r)),
        new Scenario(7,
            o.callers() + " concurrent callers for " + o.loadLength().toSeconds() + " s",
            "0 TD_LOST / INIT_FAILED; every answer 200 (own event echoed) or 429/503 with"
                + " Retry-After",
            (h, r) -> new Overload(o.callers(), o.loadLength()).run(h, r)),
        new Scenario(5, "kill -9 during " + o.asyncInvocations() + " async invocations, restart",
            "every invocation answered 202 ends SUCCEEDED with its own event (none lost)",
            (h, r) -> new KillDuringAsync(o.asyncInvocations()).run(h, r)),
        new Scenario(3, "900 KiB async result, 6 MiB async body",
            "both SUCCEEDED with the right result; a small async call afterwards succeeds",
            (h, r) -> new LargeAsync().run(h, r)),
        new Scenario(4, "2 MB trigger record",
            "the 2 MB record is dead-lettered; the 9 small records around it get replies",
            (h, r) -> new TriggerDeadLetter().run(h, r)),
        new Scenario(6, "SIGTERM during a 5 s call",
            "the call in flight returns 200 with its answer",
            (h, r) -> new SigtermDrain().run(h, r)));

    Files.createDirectories(o.work());
    Instant started = Instant.now();
    String loadBefore = loadAverage();
    Harness h = new Harness(o.root(), o.work());
    List<ScenarioResult> results = new ArrayList<>();
    String startError = null;
    try {
      h.startUp("first start");
    } catch (RuntimeException e) {
      startError = e.getMessage();
      Harness.log("confaas up did not start: " + e.getMessage());
    }
    for (Scenario s : order) {
      if (!o.only().contains(s.number())) {
        continue;
      }
      ScenarioResult r = new ScenarioResult(s.number(), s.title(), s.passRule());
      results.add(r);
      long t0 = System.nanoTime();
      Harness.log("scenario " + s.number() + ": " + s.title());
      if (startError != null && (h.up == null || !h.up.alive())) {
        // One more start per scenario would cost minutes each; the first failure says it all.
        r.check(false, "not run: confaas up did not start: " + startError);
        continue;
      }
      UpProcess platform = null;
      int fromLine = 0;
      try {
        try {
          platform = h.ensureUp("scenario " + s.number());
          fromLine = platform.lineCount();
        } catch (RuntimeException e) {
          startError = e.getMessage();
          throw e;
        }
        s.body().run(h, r);
      } catch (Exception | AssertionError e) {
        r.check(false, "the scenario could not finish: " + e);
        Harness.log("scenario " + s.number() + " failed with " + e);
        e.printStackTrace();
      }
      if (platform != null) {
        // What the platform logged meanwhile; after a restart, both runs' logs.
        r.figure("platformLog", platform.logSince(fromLine, 8));
        if (h.up != platform && h.up != null) {
          r.figure("platformLogAfterRestart", h.up.logSince(0, 8));
        }
      }
      r.took = Duration.ofNanos(System.nanoTime() - t0);
      Harness.log("scenario " + s.number() + ": " + (r.passed() ? "PASS" : "FAIL " + r.failures)
          + " in " + Harness.seconds(r.took) + " s");
    }
    if (h.up != null && h.up.alive()) {
      h.up.signalGroup("TERM");
      if (!h.up.waitExit(Duration.ofMinutes(2))) {
        h.up.kill9();
      }
    }
    Instant finished = Instant.now();
    results.sort(Comparator.comparingInt(r -> r.number));
    ObjectNode json =
        report(o, h, results, started, finished, loadBefore, loadAverage(), startError);
    Files.createDirectories(o.out().getParent());
    Files.writeString(o.out(), GatewayCalls.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValueAsString(json) + "\n", StandardCharsets.UTF_8);
    System.out.println();
    System.out.println(markdown(results));
    System.out.println("Results: " + o.out() + " (scratch: " + o.work() + ")");
    System.out.println(results.stream().filter(ScenarioResult::passed).count() + " of "
        + results.size() + " scenarios passed in "
        + Harness.seconds(Duration.between(started, finished)) + " s");
    return results;
  }

  private static ObjectNode report(Options o, Harness h, List<ScenarioResult> results,
      Instant started, Instant finished, String loadBefore, String loadAfter, String startError) {
    ObjectNode j = GatewayCalls.JSON.createObjectNode();
    j.put("started", started.toString());
    j.put("finished", finished.toString());
    j.put("seconds", Duration.between(started, finished).toSeconds());
    j.put("commit", git(o.root(), "rev-parse", "HEAD"));
    j.put("uncommittedChanges",
        !git(o.root(), "status", "--porcelain", "--untracked-files=no").isEmpty());
    j.put("command", "mvn -B -P reliability verify -pl reliability -am");
    ObjectNode m = j.putObject("machine");
    m.put("nproc", Runtime.getRuntime().availableProcessors());
    m.put("memTotalKb", procField("/proc/meminfo", "MemTotal:"));
    m.put("cpu", procField("/proc/cpuinfo", "model name"));
    m.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put("harnessOpenFileLimit", IdleConnectionHolder.openFileLimit());
    m.put("loadAverageBefore", loadBefore);
    m.put("loadAverageAfter", loadAfter);
    ObjectNode opts = j.putObject("options");
    opts.put("idleConnections", o.idleConnections());
    opts.put("callers", o.callers());
    opts.put("loadSeconds", o.loadLength().toSeconds());
    opts.put("asyncInvocations", o.asyncInvocations());
    opts.put("platformSettings",
        "defaults (confaas up --port 0 --kafka-port 0 on a fresh data dir)");
    ArrayNode starts = j.putArray("platformStarts");
    h.starts().forEach(starts::add);
    if (startError != null) {
      j.put("firstStartError", startError);
    }
    j.put("passed", results.stream().allMatch(ScenarioResult::passed));
    ArrayNode list = j.putArray("scenarios");
    for (ScenarioResult r : results) {
      ObjectNode s = list.addObject();
      s.put("number", r.number);
      s.put("title", r.title);
      s.put("passRule", r.passCriterion);
      s.put("passed", r.passed());
      s.put("seconds", r.took.toMillis() / 1000.0);
      s.put("summary", r.summary);
      s.set("failures", GatewayCalls.JSON.valueToTree(r.failures));
      s.set("figures", GatewayCalls.JSON.valueToTree(r.figures));
      if (!r.notes.isEmpty()) {
        s.set("notes", GatewayCalls.JSON.valueToTree(r.notes));
      }
    }
    return j;
  }

  static String markdown(List<ScenarioResult> results) {
    StringBuilder s = new StringBuilder();
    s.append("| # | Scenario | Result | Figures |\n|---|---|---|---|\n");
    for (ScenarioResult r : results) {
      s.append("| ").append(r.number).append(" | ").append(r.title).append(" | ")
          .append(r.passed() ? "**pass**" : "**FAIL**").append(" | ")
          .append(cell(r.summary + (r.passed() ? "" : "; **failed:** " + String.join("; ",
              r.failures.stream().map(AsyncCalls::shorten).toList()))))
          .append(" |\n");
    }
    return s.toString();
  }

  private static String cell(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String procField(String file, String prefix) {
    try {
      for (String line : Files.readAllLines(Path.of(file))) {
        if (line.startsWith(prefix)) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException e) {
      // unknown
    }
    return "unknown";
  }

  private static String git(Path root, String... args) {
    List<String> cmd = new ArrayList<>(List.of("git", "-C", root.toString()));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "unknown";
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }
}
