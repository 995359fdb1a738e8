package dev.confaas.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Scenario 1: 25,000 idle TCP connections (issue 11, defect 1: ~19,900 took the platform's JVM to
 * its file-descriptor limit and the embedded Kafka, then {@code up}, died). Two waves, each of
 * {@code total} connections that never send a byte, held by {@link IdleConnectionHolder} processes:
 *
 * <ol>
 *   <li><b>one address</b>: all from 127.0.0.2, so the per-address cap ({@code
 *       gateway.maxConnectionsPerClient}) meets them; a normal caller on 127.0.0.1 must be served
 *       throughout, each call on a new connection;
 *   <li><b>many addresses</b>: from 50 addresses (127.0.0.10..59), 500 each, under the per-address
 *       cap, so the server-wide cap ({@code gateway.maxConnections}, derived from the open-file
 *       limit with descriptors kept for Kafka and the TDs) meets them. While they fill it a new
 *       connection may be refused (the gateway cannot tell an attacker's from a caller's); the
 *       platform must stay alive, and once the silent connections are cut ({@code
 *       requestHeaderTimeout}, 10 s) normal calls must succeed again.
 * </ol>
 *
 * Figures per wave: connected, held at most and at the count, refused at once and cut after the
 * header timeout (the gateway's own meters), still open after the header timeout, the platform's
 * descriptors in use, normal calls by outcome; WARN/ERROR lines of the platform's log.
 */
final class IdleConnections {
  /** The gateway's default {@code requestHeaderTimeout}: silent connections are cut after it. */
  static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);

  /** Where the holders' source ports start (per address), below the kernel's ephemeral range. */
  private static final int FIRST_SOURCE_PORT = 10_000;

  private final int total;

  IdleConnections(int total) {
    this.total = total;
  }

  void run(Harness h, ScenarioResult r) throws Exception {
    UpProcess up = h.up;
    int fromLine = up.lineCount();
    String limit = IdleConnectionHolder.openFileLimit();
    r.figure("harnessOpenFileLimit", limit);
    r.figure("platformOpenFileLimit", up.openFileLimit());
    r.figure("platformOpenFilesBefore", up.openFiles());
    int perHolder = perHolder(limit);
    r.figure("connectionsPerHolderProcess", perHolder);

    Map<String, Object> one = wave(h, r, "oneAddress", List.of("127.0.0.2"), total, perHolder);
    List<String> many = new ArrayList<>();
    for (int i = 10; i < 60; i++) {
      many.add("127.0.0." + i);
    }
    Map<String, Object> spread = wave(h, r, "manyAddresses", many, total / many.size(), perHolder);
    r.figure("oneAddress", one);
    r.figure("manyAddresses", spread);

    r.check(up.alive(), "the platform died (exit " + (up.alive() ? "" : up.process.exitValue())
        + ")");
    List<String> routerErrors = up.linesSince(fromLine, "Unhandled exception in router");
    r.figure("unhandledExceptionInRouterLines", routerErrors.size());
    r.check(routerErrors.isEmpty(), routerErrors.size()
        + " 'Unhandled exception in router' lines: a client's disconnect logged as an error");
    List<String> fatal = up.linesSince(fromLine, "FATAL");
    r.figure("fatalLines", fatal.size());
    r.check(fatal.isEmpty(), "FATAL in the platform's log: " + fatal.stream().limit(3).toList());
    r.summary = "one address: " + brief(one, "normalCallsDuringHold") + "; 50 addresses: "
        + brief(spread, "normalCallsAfter") + "; platform alive: " + (up.alive() ? "yes" : "NO");
  }

  /** A wave in a few words: what the gateway admitted, refused and cut, and the normal calls. */
  @SuppressWarnings("unchecked")
  private static String brief(Map<String, Object> wave, String calls) {
    Map<String, Integer> until = (Map<String, Integer>) wave.get("closedByGatewayByReasonUntilEnd");
    int refused = until.getOrDefault("maxConnections", 0)
        + until.getOrDefault("maxConnectionsPerClient", 0);
    return String.format("%,d held at most, %,d refused at once, %,d cut after the header"
            + " timeout; normal calls %s %s", (Integer) wave.get("peakHeld"), refused,
        until.getOrDefault("requestHeaderTimeout", 0),
        calls.equals("normalCallsAfter") ? "after" : "during", wave.get(calls));
  }

  /** Connections one holder process may open: below its hard open-file limit, with room left. */
  static int perHolder(String limit) {
    try {
      long hard = Long.parseLong(limit.split(" ")[1]);
      return (int) Math.max(256, Math.min(12_500, hard - 1_000));
    } catch (RuntimeException e) {
      return 900; // unknown: assume the common 1024
    }
  }

  private Map<String, Object> wave(Harness h, ScenarioResult r, String name, List<String> sources,
      int perSource, int perHolder) throws Exception {
    UpProcess up = h.up;
    URI url = up.url;
    Map<String, Object> f = new LinkedHashMap<>();
    int count = sources.size() * perSource;
    f.put("attempted", count);
    f.put("sourceAddresses", sources.size() == 1 ? sources.get(0)
        : sources.get(0) + ".." + sources.get(sources.size() - 1) + " (" + sources.size() + ")");
    Harness.log("scenario 1, " + name + ": " + count + " idle connections from "
        + f.get("sourceAddresses"));
    // Also opens a kept-alive connection for reading the meters while the wave fills the gateway.
    Map<String, Double> metersBefore = h.http.gatewayMetrics(url, up.token);

    Prober prober = new Prober(url);
    Thread probe = new Thread(prober, "probe-" + name);
    probe.start();
    PeakSampler peak = new PeakSampler(h.http, url, up.token);
    Thread sampler = new Thread(peak, "meter-" + name);
    sampler.start();

    List<Holder> holders = startHolders(h, url, sources, perSource, perHolder);
    int connected = 0;
    int failed = 0;
    Map<String, Integer> connectErrors = new TreeMap<>();
    long maxOpenMillis = 0;
    List<String> holderLimits = new ArrayList<>();
    for (Holder x : holders) {
      holderLimits.add(x.limit);
      String[] o = x.await("opened").split(" ");
      connected += Integer.parseInt(o[1]);
      failed += Integer.parseInt(o[2]);
      maxOpenMillis = Math.max(maxOpenMillis, Long.parseLong(o[3]));
      if (!o[4].equals("-")) {
        for (String e : o[4].split(";")) {
          int eq = e.lastIndexOf('=');
          connectErrors.merge(
              e.substring(0, eq), Integer.parseInt(e.substring(eq + 1)), Integer::sum);
        }
      }
    }
    long openedAt = System.nanoTime();
    Thread.sleep(1_000); // lets the server's closes of refused connections arrive
    int[] held = count(holders);
    f.put("holderProcesses", holders.size());
    f.put("holderOpenFileLimits", holderLimits);
    f.put("connected", connected);
    f.put("connectFailed", failed);
    f.put("connectErrors", connectErrors);
    f.put("openingSeconds", maxOpenMillis / 1000.0);
    // The client's view can count a few more: connections the kernel completed that the gateway
    // has not accepted (and closed) yet. The gateway's own meter is the server's view.
    Map<String, Double> meters = h.http.gatewayMetrics(url, up.token);
    Double open = meters.get("confaas_gateway_connections");
    Map<String, Integer> refused = refusals(metersBefore, meters);
    f.put("held", open == null ? held[0] : open.intValue());
    f.put("refusedAtOnce", refused.getOrDefault("maxConnections", 0)
        + refused.getOrDefault("maxConnectionsPerClient", 0));
    f.put("closedByGatewayByReason", refused);
    f.put("openSeenByClient", held[0]);
    f.put("closedSeenByClient", held[1]);
    f.put("serverAnsweredOn", held[2]);
    f.put("platformOpenFilesDuringHold", up.openFiles());
    f.put("platformAliveDuringHold", up.alive());
    Harness.log("scenario 1, " + name + ": " + f.get("held") + " held, " + held[1]
        + " closed at once, " + failed + " connects failed, opened in " + maxOpenMillis + " ms");

    // Past the header timeout (from the last connect) every silent connection should be gone.
    long waitNanos = HEADER_TIMEOUT.plusSeconds(4).toNanos() - (System.nanoTime() - openedAt);
    if (waitNanos > 0) {
      Thread.sleep(waitNanos / 1_000_000);
    }
    int[] after = count(holders);
    f.put("stillOpenAfterHeaderTimeout", after[0]);
    for (Holder x : holders) {
      x.quit();
    }
    prober.stop.set(true);
    peak.stop.set(true);
    probe.join(30_000);
    sampler.join(30_000);
    f.put("peakHeld", peak.peak);
    f.put("normalCallsDuringHold", prober.outcomes());

    // Then: normal invocations, each on a new connection, must succeed.
    Map<String, Integer> afterCalls = new TreeMap<>();
    for (int i = 0; i < 10; i++) {
      GatewayCalls.Answer a = GatewayCalls.fresh(url, "/v1/functions/hello/invoke",
          ("after-" + i).getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(60));
      afterCalls.merge(a.kind(), 1, Integer::sum);
    }
    f.put("normalCallsAfter", afterCalls);
    Map<String, Double> metersAfter = h.http.gatewayMetrics(url, up.token);
    f.put("closedByGatewayByReasonUntilEnd", refusals(metersBefore, metersAfter));
    Double openAfter = metersAfter.get("confaas_gateway_connections");
    f.put("gatewayConnectionsOpenAfter", openAfter == null ? null : openAfter.intValue());
    f.put("platformOpenFilesAfter", up.openFiles());
    f.put("platformAliveAfter", up.alive());

    r.check(up.alive(), name + ": the platform died");
    r.check(afterCalls.getOrDefault("200", 0) == 10,
        name + ": normal calls after the wave were not all 200: " + afterCalls);
    if (sources.size() == 1) {
      // The per-address cap leaves every other address alone.
      Map<String, Integer> during = prober.outcomes();
      r.check(during.keySet().stream().allMatch(k -> k.equals("200")),
          name + ": normal calls from 127.0.0.1 while 127.0.0.2 held its connections were not all"
              + " 200: " + during);
    }
    return f;
  }

  private List<Holder> startHolders(Harness h, URI url, List<String> sources, int perSource,
      int perHolder) throws IOException {
    String classes = Path.of(IdleConnectionHolder.class.getProtectionDomain().getCodeSource()
        .getLocation().getPath()).toString();
    List<Holder> holders = new ArrayList<>();
    int count = sources.size() * perSource;
    int processes = (count + perHolder - 1) / perHolder;
    if (sources.size() == 1) {
      // One address shared by several processes: each counts its source ports from its own start.
      for (int i = 0; i < processes; i++) {
        int n = Math.min(perHolder, count - i * perHolder);
        int firstPort = FIRST_SOURCE_PORT + i * perHolder;
        holders.add(new Holder(classes, url, sources.get(0), n, firstPort, h));
      }
    } else {
      int perProcess = (sources.size() + processes - 1) / processes;
      for (int i = 0; i < sources.size(); i += perProcess) {
        List<String> part = sources.subList(i, Math.min(sources.size(), i + perProcess));
        holders.add(
            new Holder(classes, url, String.join(",", part), perSource, FIRST_SOURCE_PORT, h));
      }
    }
    return holders;
  }

  /** Per reason, how many more connections the gateway closed under its limits than before. */
  private static Map<String, Integer> refusals(
      Map<String, Double> before, Map<String, Double> now) {
    Map<String, Integer> out = new TreeMap<>();
    String prefix = "confaas_gateway_connections_refused_total{reason=\"";
    now.forEach((k, v) -> {
      if (k.startsWith(prefix)) {
        String reason = k.substring(prefix.length(), k.indexOf('"', prefix.length()));
        out.put(reason, (int) (v - before.getOrDefault(k, 0.0)));
      }
    });
    return out;
  }

  /** {open, closed, answered} summed over the holders. */
  private static int[] count(List<Holder> holders) throws IOException, InterruptedException {
    int[] sum = new int[3];
    for (Holder x : holders) {
      x.send("count");
    }
    for (Holder x : holders) {
      String[] c = x.await("count").split(" ");
      for (int i = 0; i < 3; i++) {
        sum[i] += Integer.parseInt(c[i + 1]);
      }
    }
    return sum;
  }

  /** One {@link IdleConnectionHolder} process. */
  private static final class Holder {
    final Process process;
    final BufferedReader out;
    final PrintWriter in;
    final String limit;

    Holder(String classes, URI url, String sources, int perSource, int firstPort, Harness h)
        throws IOException {
      process = new ProcessBuilder(UpProcess.java(), "-Xmx128m", "-XX:+MaxFDLimit", "-cp", classes,
          IdleConnectionHolder.class.getName(), url.getHost(), Integer.toString(url.getPort()),
          sources, Integer.toString(perSource), Integer.toString(firstPort))
          .redirectError(h.work.resolve("holder-" + System.nanoTime() + ".err").toFile())
          .start();
      out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
      String first = out.readLine();
      if (first == null || !first.startsWith("limit ")) {
        throw new IOException("connection holder did not start: " + first);
      }
      limit = first.substring("limit ".length());
    }

    void send(String command) {
      in.println(command);
    }

    /**
     * The holder's next line, which must start with {@code prefix}. It prints nothing else, and
     * each of its connects gives up after 5 s, so the answer comes.
     */
    String await(String prefix) throws IOException {
      String line = out.readLine();
      if (line == null || !line.startsWith(prefix + " ")) {
        throw new IOException(
            "connection holder said '" + line + "', expected '" + prefix + " ...'");
      }
      return line;
    }

    void quit() throws InterruptedException {
      in.println("quit");
      in.close();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  /**
   * Reads the gateway's open-connection meter every 250 ms (on the harness's kept-alive connection)
   * and keeps the largest value: what the gateway held at once, which a single count after the
   * wave misses when the first silent connections are already cut.
   */
  private static final class PeakSampler implements Runnable {
    final GatewayCalls http;
    final URI url;
    final String token;
    final AtomicBoolean stop = new AtomicBoolean();
    volatile int peak;

    PeakSampler(GatewayCalls http, URI url, String token) {
      this.http = http;
      this.url = url;
      this.token = token;
    }

    @Override
    public void run() {
      while (!stop.get()) {
        Double open = http.gatewayMetrics(url, token).get("confaas_gateway_connections");
        if (open != null && open.intValue() > peak) {
          peak = open.intValue();
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** A normal caller: every 500 ms a call to {@code hello} on a new connection from 127.0.0.1. */
  private static final class Prober implements Runnable {
    final URI url;
    final AtomicBoolean stop = new AtomicBoolean();
    private final Map<String, Integer> outcomes = new TreeMap<>();

    Prober(URI url) {
      this.url = url;
    }

    @Override
    public void run() {
      int i = 0;
      while (!stop.get()) {
        GatewayCalls.Answer a = GatewayCalls.fresh(url, "/v1/functions/hello/invoke",
            ("probe-" + i++).getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30));
        synchronized (this) {
          outcomes.merge(a.kind(), 1, Integer::sum);
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    synchronized Map<String, Integer> outcomes() {
      return new TreeMap<>(outcomes);
    }
  }
}
