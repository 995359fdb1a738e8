package dev.confaas.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.agent.TdEvidence;
import dev.confaas.cli.Main;
import dev.confaas.gateway.FunctionRegistry;
import dev.confaas.gateway.Gateway;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.gateway.InMemoryAsyncInvocations;
import dev.confaas.gateway.TdDirectory;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import dev.confaas.pool.AttestedTd;
import dev.confaas.pool.LaunchedTd;
import dev.confaas.pool.ProcessTdLauncher;
import dev.confaas.pool.QuoteTdAttestor;
import dev.confaas.scheduler.FunctionInvoker;
import dev.confaas.scheduler.InvocationResult;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The end-to-end load harness: every scenario of {@code benchmarks/README.md} against its baseline
 * in the same run, the platform started in-process on loopback (the {@link Platform} composition
 * root that {@code confaas up} runs), load generated from the same JVM. Writes a JSON result
 * (scenarios, figures, baselines, ratios, settings, machine) and prints a Markdown table.
 *
 * <p>Usage: {@code LoadHarness [--quick] [--out FILE] [--jmh JMH.json] [--work DIR]
 * [--only s1,s2,...]}
 */
public final class LoadHarness {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final String ECHO = "#!/bin/sh\n# the event arrives on stdin; what this prints is the response\ncat\n";
  static final String NOOP = "#!/bin/sh\necho ok\n";
  static final byte[] PING = "ping".getBytes(StandardCharsets.UTF_8);

  /** One compared figure: ConFaaS's number and its baseline's, measured in this run. */
  record Row(String scenario, String measure, String unit, double figure, double baseline,
      boolean lowerIsBetter, String note) {
    /** How many times the baseline's cost the figure is (>1: ConFaaS costs more). */
    double costRatio() {
      return lowerIsBetter ? figure / baseline : baseline / figure;
    }
  }

  private final boolean quick;
  private final Path work;
  private final List<Row> rows = new ArrayList<>();
  private final ObjectNode details = JSON.createObjectNode();
  private final Vertx vertx = Vertx.vertx();
  /** Scenario 1's warm p50 at 1 in flight, to put the JMH receipt-signing cost beside. */
  private double warmP50Ms = Double.NaN;

  private LoadHarness(boolean quick, Path work) {
    this.quick = quick;
    this.work = work;
  }

  public static void main(String[] args) throws Exception {
    boolean quick = false;
    Path out = null;
    Path jmh = null;
    Path work = null;
    List<String> only = List.of("s1", "s2", "s3", "s4", "s5", "s6");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> quick = true;
        case "--out" -> out = Path.of(args[++i]);
        case "--jmh" -> jmh = Path.of(args[++i]);
        case "--work" -> work = Path.of(args[++i]);
        case "--only" -> only = List.of(args[++i].split(","));
        default -> {
          System.err.println("unknown argument '" + args[i] + "'; usage: LoadHarness [--quick]"
              + " [--out FILE] [--jmh JMH.json] [--work DIR] [--only s1,s2,s3,s4,s5,s6]");
          System.exit(2);
        }
      }
    }
    if (work == null) {
      work = Files.createTempDirectory("confaas-bench-");
    }
    Files.createDirectories(work);
    LoadHarness h = new LoadHarness(quick, work);
    ObjectNode result = JSON.createObjectNode();
    result.put("date", Instant.now().toString());
    result.put("mode", quick ? "quick" : "full");
    result.set("machine", machine());
    result.put("loadAverageBefore", loadAverage());
    try {
      h.runAll(only);
    } finally {
      h.vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    result.put("loadAverageAfter", loadAverage());
    if (jmh != null && Files.exists(jmh)) {
      h.addJmh(JSON.readTree(jmh.toFile()));
    }
    ArrayNode rowsJson = result.putArray("results");
    for (Row r : h.rows) {
      ObjectNode n = rowsJson.addObject();
      n.put("scenario", r.scenario());
      n.put("measure", r.measure());
      n.put("unit", r.unit());
      n.put("figure", r.figure());
      n.put("baseline", r.baseline());
      n.put("lowerIsBetter", r.lowerIsBetter());
      n.put("costRatio", r.costRatio());
      n.put("note", r.note());
    }
    result.set("details", h.details);
    String table = table(h.rows);
    result.put("table", table);
    if (out != null) {
      Files.createDirectories(out.toAbsolutePath().getParent());
      JSON.writeValue(out.toFile(), result);
    }
    System.out.println();
    System.out.println(table);
    System.out.println("machine: " + result.get("machine") + "; load average before "
        + result.get("loadAverageBefore").asText() + ", after "
        + result.get("loadAverageAfter").asText());
    if (out != null) {
      System.out.println("results: " + out);
    }
    System.exit(0); // the platform's non-daemon threads (Kafka, gRPC) must not keep us alive
  }

  private void runAll(List<String> only) throws Exception {
    if (only.contains("s6")) {
      qemuBackend();
    }
    if (only.contains("s5")) {
      gatewayOverhead();
    }
    if (only.contains("s3")) {
      poolRefill();
    }
    if (only.contains("s1") || only.contains("s2") || only.contains("s4")) {
      log("starting the platform in-process (data under " + work.resolve("platform") + ")");
      // Function images are built with ACON's default maxInstances 1, so every concurrent
      // instance of a function takes a TD of its own: the pool must hold one per instance.
      Map<String, String> settings = Map.of("gateway.port", "0", "kafka.port", "0",
          "pool.size", "4", "pool.max", "16", "platform.deploySample", "false");
      try (Platform p = Platform.start(
          Settings.load(work.resolve("platform"), Map.of(), settings), LoadHarness::log)) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!p.ready()) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the warm pool attested no TD within 3 minutes");
          }
          Thread.sleep(100);
        }
        if (only.contains("s1")) {
          warmInvocation(p);
        }
        if (only.contains("s2")) {
          firstInvocation(p);
        }
        if (only.contains("s4")) {
          kafkaTrigger(p);
        }
      }
    }
  }

  private Duration runFor() {
    return Duration.ofSeconds(quick ? 3 : 12);
  }

  // --- scenario 6: the qemu backend next to the process backend -------------------------------

  /** What one backend measured in scenario 6, on a platform of its own with one TD. */
  record BackendSide(String backend, String accelerator, double bootToAttestedMs,
      double idleTdRssMiB, double firstInvocationMs, Load.Stats warm) {}

  private void qemuBackend() throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64"))) {
      log("s6: skipped: no /usr/bin/qemu-system-x86_64 (bin/ensure-debian-packages --tests)");
      return;
    }
    log("s6: the qemu backend next to the process backend, one TD each: boot to attested, RSS of"
        + " the idle TD, first and warm invocations of a shell echo function");
    BackendSide qemu = backendSide("qemu");
    BackendSide process = backendSide("process");
    String s = "6 qemu backend (" + qemu.accelerator().toUpperCase(java.util.Locale.ROOT)
        + ") vs process backend";
    rows.add(new Row(s, "boot to attested (launch, agent serving, quote verified, pinned)", "ms",
        qemu.bootToAttestedMs(), process.bootToAttestedMs(), true,
        "baseline: a process-backend TD (agent JVM on the host) in the same run; the pool's own"
            + " confaas.pool.boot.ready timer"));
    rows.add(new Row(s, "RSS of one idle attested TD", "MiB", qemu.idleTdRssMiB(),
        process.idleTdRssMiB(), true,
        "qemu: the QEMU process (guest memory touched so far); process: the agent JVM"));
    rows.add(new Row(s, "first invocation of a never-seen function on the warm TD", "ms",
        qemu.firstInvocationMs(), process.firstInvocationMs(), true,
        "load + verify + measure + start + init + respond, in the guest vs on the host"));
    rows.add(new Row(s, "warm invocation, closed loop, 1 in flight, p50", "ms",
        qemu.warm().p50Ms(), process.warm().p50Ms(), true, errors(qemu.warm(), process.warm())));
    rows.add(new Row(s, "warm invocation, closed loop, 1 in flight, p99", "ms",
        qemu.warm().p99Ms(), process.warm().p99Ms(), true, ""));
    ObjectNode d = details.putObject("s6");
    d.set("qemu", JSON.valueToTree(qemu));
    d.set("process", JSON.valueToTree(process));
  }

  private BackendSide backendSide(String backend) throws Exception {
    Map<String, String> settings = Map.of("gateway.port", "0", "kafka.port", "0",
        "pool.backend", backend, "pool.size", "1", "pool.max", "1",
        "platform.deploySample", "false");
    Path data = work.resolve("s6-" + backend);
    try (Platform p = Platform.start(Settings.load(data, Map.of(), settings), LoadHarness::log)) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
      while (!p.ready()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("s6: no " + backend + " TD attested within 15 minutes");
        }
        Thread.sleep(200);
      }
      Thread.sleep(2_000); // idle: the attestation's garbage is not the TD's footprint
      double bootMs = bootToAttestedMs(p);
      double rss = idleTdRssMiB(backend);
      String name = "echo-" + backend;
      deploy(p, name, ECHO);
      URI url = URI.create(p.gatewayUrl() + "/v1/functions/" + name + "/invoke");
      long t0 = System.nanoTime();
      HttpResponse<String> first = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(10))
              .POST(HttpRequest.BodyPublishers.ofByteArray(PING)).build(),
          HttpResponse.BodyHandlers.ofString());
      double firstMs = (System.nanoTime() - t0) / 1e6;
      if (first.statusCode() != 200 || !first.body().strip().equals("ping")) {
        throw new IllegalStateException("s6: the first call on " + backend + " answered "
            + first.statusCode() + ": " + first.body());
      }
      Load.Stats warm;
      try (HttpTarget t = new HttpTarget(vertx, url, PING, 1)) {
        Load.closedLoop(t, 1, Duration.ofSeconds(2)); // warm-up
        warm = Load.closedLoop(t, 1, runFor().multipliedBy(2));
      }
      return new BackendSide(backend, p.tdAccelerator(), bootMs, rss, firstMs, warm);
    }
  }

  /** The pool's boot-to-ready timer (launch until attested and idle), from {@code GET /metrics}. */
  private static double bootToAttestedMs(Platform p) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(p.gatewayUrl() + "/metrics"))
            .header("Authorization", "Bearer " + p.adminToken()).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    double sum = Double.NaN;
    double count = Double.NaN;
    for (String line : r.body().split("\n")) {
      if (line.startsWith("confaas_pool_boot_ready_seconds_sum")) {
        sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      } else if (line.startsWith("confaas_pool_boot_ready_seconds_count")) {
        count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum / count * 1000;
  }

  /**
   * The resident memory of the TD this JVM runs: its QEMU process (qemu), or its agent JVM and
   * whatever that started (process).
   */
  private static double idleTdRssMiB(String backend) {
    List<ProcessHandle> td = ProcessHandle.current().descendants()
        .filter(ph -> {
          String cmd = commandLine(ph);
          return backend.equals("qemu")
              ? ph.info().command().orElse("").endsWith("qemu-system-x86_64")
              : cmd.contains("TdAgentMain");
        })
        .toList();
    if (td.size() != 1) {
      throw new IllegalStateException("s6: expected one " + backend + " TD process, found "
          + td.size());
    }
    long kb = rssKb(td.get(0)) + td.get(0).descendants().mapToLong(LoadHarness::rssKb).sum();
    return kb / 1024.0;
  }

  private static long rssKb(ProcessHandle p) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException gone) {
      // exited meanwhile
    }
    return 0;
  }

  private static String commandLine(ProcessHandle p) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"))
          .replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  // --- scenario 5: gateway overhead ----------------------------------------------------------

  private void gatewayOverhead() throws Exception {
    log("s5: the gateway over a stub invoker vs a bare Vert.x server, same bytes");
    byte[] answer = "ok".getBytes(StandardCharsets.UTF_8);
    FunctionInvoker stub = req -> CompletableFuture.completedFuture(new InvocationResult(
        req.requestId(), answer, null, "td-stub", null, "instance-stub", Duration.ZERO));
    Path data = Files.createDirectories(work.resolve("gateway-only"));
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Gateway gateway = new Gateway(
        GatewayConfig.builder(data).host("127.0.0.1").port(0).build(),
        stub, FunctionRegistry.open(data, Clock.systemUTC()),
        new InMemoryAsyncInvocations(stub, Clock.systemUTC(), Duration.ofMinutes(1),
            Duration.ofSeconds(30)),
        TdDirectory.NONE, meters, () -> true);
    gateway.start();
    HttpServer bare = vertx.createHttpServer()
        .requestHandler(req -> req.body().onComplete(b ->
            req.response().setStatusCode(200).end(Buffer.buffer(answer))))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
    int concurrency = 16;
    double rate = quick ? 500 : 1500;
    try (HttpTarget gw = new HttpTarget(vertx,
            URI.create(gateway.url() + "/v1/functions/stub/invoke"), PING, concurrency);
        HttpTarget base = new HttpTarget(vertx,
            URI.create("http://127.0.0.1:" + bare.actualPort() + "/"), PING, concurrency)) {
      Load.closedLoop(gw, concurrency, Duration.ofSeconds(2)); // warm-up (JIT, connections)
      Load.closedLoop(base, concurrency, Duration.ofSeconds(2));
      Load.Stats gwClosed = Load.closedLoop(gw, concurrency, runFor());
      Load.Stats baseClosed = Load.closedLoop(base, concurrency, runFor());
      Load.Stats gwOpen = Load.openLoop(gw, rate, runFor(), Duration.ofSeconds(30));
      Load.Stats baseOpen = Load.openLoop(base, rate, runFor(), Duration.ofSeconds(30));
      String s = "5 gateway overhead";
      throughput(s, "closed loop, " + concurrency + " connections", gwClosed, baseClosed);
      latencies(s, "open loop " + (int) rate + "/s", gwOpen, baseOpen);
      detail("s5", gwClosed, baseClosed, gwOpen, baseOpen);
    } finally {
      gateway.close();
      bare.close();
    }
  }

  // --- scenario 3: pool refill ---------------------------------------------------------------

  private void poolRefill() throws Exception {
    int tds = quick ? 2 : 6;
    int inFlight = 2;
    log("s3: booting " + tds + " process TDs (" + inFlight + " at once), with and without"
        + " attestation");
    Path dir = work.resolve("pool-refill");
    try (ProcessTdLauncher launcher =
        new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(dir))) {
      QuoteTdAttestor attestor = launcher.attestor();
      Boots launchOnly = boots(tds, inFlight, id -> {
        LaunchedTd td = launcher.launch("bare-" + id);
        return td::close;
      });
      Boots attested = boots(tds, inFlight, id -> {
        AttestedTd td = attestor.attest(launcher.launch("attested-" + id));
        return td::close;
      });
      String s = "3 pool refill (process backend)";
      rows.add(new Row(s, "launch to attested and ready, p50", "ms", attested.p50Ms(),
          launchOnly.p50Ms(), true,
          "baseline: launch to agent serving gRPC, no quote/verification/pinned channel"));
      rows.add(new Row(s, "launch to attested and ready, max", "ms", attested.maxMs(),
          launchOnly.maxMs(), true, ""));
      rows.add(new Row(s, "TDs ready per minute, " + inFlight + " booting at once", "TDs/min",
          attested.perMinute(), launchOnly.perMinute(), false, ""));
      ObjectNode d = details.putObject("s3");
      d.set("attested", JSON.valueToTree(attested));
      d.set("launchOnly", JSON.valueToTree(launchOnly));
    }
  }

  @FunctionalInterface
  interface Boot {
    AutoCloseable boot(int id) throws Exception;
  }

  record Boots(int tds, double wallSeconds, double p50Ms, double maxMs, double perMinute,
      List<Double> latenciesMs) {}

  private Boots boots(int count, int inFlight, Boot boot) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(inFlight);
    List<AutoCloseable> started = Collections.synchronizedList(new ArrayList<>());
    List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int id = i;
        fs.add(pool.submit(() -> {
          long t0 = System.nanoTime();
          started.add(boot.boot(id));
          latencies.add((System.nanoTime() - t0) / 1e6);
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    double wall = (System.nanoTime() - start) / 1e9;
    for (AutoCloseable c : started) {
      c.close();
    }
    List<Double> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    return new Boots(count, wall, sorted.get((sorted.size() - 1) / 2),
        sorted.get(sorted.size() - 1), count / wall * 60, sorted);
  }

  // --- scenario 1: warm invocation -----------------------------------------------------------

  private void warmInvocation(Platform p) throws Exception {
    log("s1: warm invocations of a shell echo function through the platform vs the same"
        + " runtime and handler driven directly");
    deploy(p, "echo", ECHO);
    int concurrency = 4;
    double rate = quick ? 10 : 20;
    URI url = URI.create(p.gatewayUrl() + "/v1/functions/echo/invoke");
    try (HttpTarget platform = new HttpTarget(vertx, url, PING, concurrency);
        DirectRuntime direct = DirectRuntime.start(
            vertx, Files.createDirectories(work.resolve("direct-runtime")), ECHO, concurrency,
            PING)) {
      check(platform, "ping");
      check(direct, "ping");
      // Warm-up: long enough for the scheduler to start (and the pool to refill) one instance,
      // hence one TD, per concurrent call.
      Load.closedLoop(platform, concurrency, Duration.ofSeconds(quick ? 10 : 20));
      Load.closedLoop(direct, concurrency, Duration.ofSeconds(quick ? 2 : 5));
      Load.Stats p1 = Load.closedLoop(platform, 1, runFor());
      Load.Stats d1 = Load.closedLoop(direct, 1, runFor());
      Load.Stats pc = Load.closedLoop(platform, concurrency, runFor());
      Load.Stats dc = Load.closedLoop(direct, concurrency, runFor());
      Load.Stats po = Load.openLoop(platform, rate, runFor(), Duration.ofSeconds(60));
      Load.Stats doo = Load.openLoop(direct, rate, runFor(), Duration.ofSeconds(60));
      String s = "1 warm invocation (shell echo)";
      latencies(s, "closed loop, 1 in flight", p1, d1);
      throughput(s, "closed loop, " + concurrency + " in flight", pc, dc);
      latencies(s, "open loop " + (int) rate + "/s", po, doo);
      detail("s1", p1, d1, pc, dc, po, doo);
      warmP50Ms = p1.p50Ms();
      sealedWarmInvocation(p, platform, concurrency, rate);
    }
  }

  /**
   * Scenario 1b, in the same run as 1 and right after it: the same function invoked sealed
   * (docs/sealed-invocations.md) against the same function invoked plainly through the platform.
   * The sealed calls all go to the one TD whose key they are sealed to; the caller's HPKE work is
   * timed with them.
   */
  private void sealedWarmInvocation(Platform p, HttpTarget plain, int concurrency, double rate)
      throws Exception {
    log("s1b: sealed warm invocations of the same function vs its plain ones");
    HttpResponse<String> er = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(p.gatewayUrl() + "/v1/functions/echo/evidence?prepare=true"))
            .header("Authorization", "Bearer " + p.adminToken()).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (er.statusCode() != 200) {
      throw new IllegalStateException("evidence of echo: HTTP " + er.statusCode() + ": " + er.body());
    }
    JsonNode doc = JSON.readTree(er.body());
    TdEvidence evidence = TdEvidence.parse(JSON.writeValueAsBytes(doc.get("evidence").get(0)));
    URI url = URI.create(p.gatewayUrl() + "/v1/functions/echo/invoke");
    try (SealedTarget sealed = new SealedTarget(vertx, url, evidence.sealingPublicKey(),
        doc.get("imageId").asText(), evidence.tdId(), PING, concurrency)) {
      check(sealed, "ping");
      // Warm-up: instances in the sealed-to TD for each concurrent call.
      Load.closedLoop(sealed, concurrency, Duration.ofSeconds(quick ? 5 : 10));
      Load.Stats s1 = Load.closedLoop(sealed, 1, runFor());
      Load.Stats p1 = Load.closedLoop(plain, 1, runFor());
      Load.Stats sc = Load.closedLoop(sealed, concurrency, runFor());
      Load.Stats pc = Load.closedLoop(plain, concurrency, runFor());
      Load.Stats so = Load.openLoop(sealed, rate, runFor(), Duration.ofSeconds(60));
      Load.Stats po = Load.openLoop(plain, rate, runFor(), Duration.ofSeconds(60));
      String s = "1b sealed warm invocation (shell echo)";
      int first = rows.size();
      latencies(s, "closed loop, 1 in flight", s1, p1);
      throughput(s, "closed loop, " + concurrency + " in flight", sc, pc);
      latencies(s, "open loop " + (int) rate + "/s", so, po);
      Row r = rows.get(first);
      rows.set(first, new Row(r.scenario(), r.measure(), r.unit(), r.figure(), r.baseline(),
          r.lowerIsBetter(), (r.note().isEmpty() ? "" : r.note() + "; ")
              + "baseline: the same function invoked plainly through the platform, measured"
              + " right after each sealed load; sealed calls go to one TD, the caller's HPKE seal"
              + " and open timed with each"));
      detail("s1b", s1, p1, sc, pc, so, po);
    }
  }

  private static void check(Load.Target t, String expected) {
    Object answer = t.send().orTimeout(60, TimeUnit.SECONDS).join();
    String text = answer.toString().strip();
    if (!text.equals(expected)) {
      throw new IllegalStateException("expected '" + expected + "' from the function, got '"
          + text + "'");
    }
  }

  // --- scenario 2: first invocation of a never-seen function -----------------------------------

  private void firstInvocation(Platform p) throws Exception {
    int functions = quick ? 2 : 5;
    int warmCalls = 5;
    log("s2: first invocation of " + functions + " never-seen functions vs their warm calls");
    Histogram cold = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
    Histogram warm = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
    ArrayNode each = details.putArray("s2");
    for (int i = 0; i < functions; i++) {
      String name = "fresh-" + i;
      deploy(p, name, ECHO.replace("# the event", "# " + name + ": the event"));
      try (HttpTarget t = new HttpTarget(vertx,
          URI.create(p.gatewayUrl() + "/v1/functions/" + name + "/invoke"), PING, 1)) {
        long t0 = System.nanoTime();
        t.send().get(2, TimeUnit.MINUTES);
        long first = System.nanoTime() - t0;
        cold.recordValue(first);
        ObjectNode n = each.addObject().put("function", name).put("firstMs", first / 1e6);
        ArrayNode w = n.putArray("warmMs");
        for (int k = 0; k < warmCalls; k++) {
          long s0 = System.nanoTime();
          t.send().get(1, TimeUnit.MINUTES);
          long d = System.nanoTime() - s0;
          warm.recordValue(d);
          w.add(d / 1e6);
        }
      }
    }
    String s = "2 first invocation on a warm TD";
    rows.add(new Row(s, "first call (load+verify+measure+start+respond), p50", "ms",
        cold.getValueAtPercentile(50) / 1e6, warm.getValueAtPercentile(50) / 1e6, true,
        "baseline: warm calls of the same functions; " + functions + " fresh functions"));
    rows.add(new Row(s, "first call, max", "ms", cold.getMaxValue() / 1e6,
        warm.getMaxValue() / 1e6, true, ""));
  }

  // --- scenario 4: Kafka trigger ---------------------------------------------------------------

  private void kafkaTrigger(Platform p) throws Exception {
    int records = quick ? 40 : 300;
    int concurrency = 4;
    log("s4: " + records + " records through a Kafka trigger to a no-op function vs a bare"
        + " consumer of the same topic");
    deploy(p, "noop", NOOP);
    String in = "bench-in";
    String out = "bench-out";
    // The broker requires SASL; the harness runs inside the platform, so it uses its own user.
    Properties common = new Properties();
    common.putAll(p.kafkaPlatformClients().settings());
    try (Admin admin = Admin.create(common)) {
      admin.createTopics(List.of(new NewTopic(in, 4, (short) 1), new NewTopic(out, 1, (short) 1)))
          .all().get(1, TimeUnit.MINUTES);
    }
    Properties prod = new Properties();
    prod.putAll(common);
    prod.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    prod.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(prod)) {
      for (int i = 0; i < records; i++) {
        producer.send(new ProducerRecord<>(in, ("k" + i).getBytes(StandardCharsets.UTF_8),
            ("record " + i).getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
    // Baseline first: a bare consumer reading the same records from the same broker.
    long b0 = System.nanoTime();
    int read = drain(common, in, 4, records);
    double bareSeconds = (System.nanoTime() - b0) / 1e9;
    if (read < records) {
      throw new IllegalStateException("the bare consumer read " + read + " of " + records);
    }
    // Then the trigger: from its creation until every reply is on the reply topic.
    ObjectNode spec = JSON.createObjectNode().put("function", "noop").put("topic", in)
        .put("replyTopic", out).put("ordering", "none").put("concurrency", concurrency);
    long t0 = System.nanoTime();
    post(p, "/v1/triggers", spec.toString());
    int replies = drain(common, out, 1, records);
    double triggerSeconds = (System.nanoTime() - t0) / 1e9;
    if (replies < records) {
      throw new IllegalStateException("the trigger produced " + replies + " of " + records
          + " replies within the time limit");
    }
    String s = "4 Kafka trigger (no-op function)";
    rows.add(new Row(s, records + " records, concurrency " + concurrency, "records/s",
        records / triggerSeconds, records / bareSeconds, false,
        "baseline: bare kafka-clients consumer of the same topic; trigger time includes"
            + " group join and reply production"));
    details.putObject("s4").put("records", records).put("triggerSeconds", triggerSeconds)
        .put("bareConsumerSeconds", bareSeconds);
  }

  /** Reads {@code topic}'s partitions from the beginning until {@code want} records (or 3 min). */
  private static int drain(Properties common, String topic, int partitions, int want) {
    Properties c = new Properties();
    c.putAll(common);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) {
        tps.add(new TopicPartition(topic, i));
      }
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      int n = 0;
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (n < want && System.nanoTime() < deadline) {
        ConsumerRecords<byte[], byte[]> got = consumer.poll(Duration.ofMillis(100));
        n += got.count();
      }
      return n;
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  private void deploy(Platform p, String name, String script) throws IOException {
    Path dir = Files.createDirectories(work.resolve("functions").resolve(name));
    Path handler = dir.resolve("handler.sh");
    Files.writeString(handler, script);
    handler.toFile().setExecutable(true);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out), new PrintWriter(err), "deploy",
        "--url", p.gatewayUrl().toString(), "--token", p.adminToken(),
        "--name", name, "--runtime", "shell", "--handler", handler.toString(),
        "--data-dir", work.resolve("author").toString(), "--concurrency", "10");
    if (code != 0) {
      throw new IllegalStateException("confaas deploy " + name + " failed (" + code + "): "
          + err + out);
    }
  }

  private static void post(Platform p, String path, String json) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(p.gatewayUrl() + path))
            .header("Authorization", "Bearer " + p.adminToken())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IllegalStateException("POST " + path + " answered " + r.statusCode() + ": "
          + r.body());
    }
  }

  private void latencies(String scenario, String load, Load.Stats figure, Load.Stats base) {
    String note = errors(figure, base);
    rows.add(new Row(scenario, load + ", p50", "ms", figure.p50Ms(), base.p50Ms(), true, note));
    rows.add(new Row(scenario, load + ", p90", "ms", figure.p90Ms(), base.p90Ms(), true, ""));
    rows.add(new Row(scenario, load + ", p99", "ms", figure.p99Ms(), base.p99Ms(), true, ""));
    rows.add(new Row(scenario, load + ", p99.9", "ms", figure.p999Ms(), base.p999Ms(), true, ""));
  }

  private void throughput(String scenario, String load, Load.Stats figure, Load.Stats base) {
    rows.add(new Row(scenario, load + ", throughput", "req/s", figure.throughput(),
        base.throughput(), false, errors(figure, base)));
    rows.add(new Row(scenario, load + ", p99", "ms", figure.p99Ms(), base.p99Ms(), true, ""));
  }

  private static String errors(Load.Stats figure, Load.Stats base) {
    if (figure.errors() == 0 && base.errors() == 0) {
      return "";
    }
    return "errors: " + figure.errors() + " vs " + base.errors()
        + (figure.firstError() != null ? " (" + figure.firstError() + ")" : "")
        + (base.firstError() != null ? " (baseline: " + base.firstError() + ")" : "");
  }

  private void detail(String key, Load.Stats... pairs) {
    ArrayNode a = details.putArray(key);
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      ObjectNode n = a.addObject();
      n.set("confaas", JSON.valueToTree(pairs[i]));
      n.set("baseline", JSON.valueToTree(pairs[i + 1]));
    }
  }

  /** JMH figures: each benchmark method paired with its class's baseline method (same params). */
  private static final Map<String, String> JMH_PAIRS = Map.of(
      "QuoteVerifyBenchmark.verifyQuote", "baselineSignatureVerify",
      "PolicyAdmissionBenchmark.admitNewFunction", "baselineAlreadyLoaded",
      "ImageIdBenchmark.canonicalImageId", "baselineJacksonCompactSha384",
      "RtmrReplayBenchmark.replay", "baselineRawSha384Chain",
      "PlacementBenchmark.place", "baselinePolicyBlindFullest",
      "PlacementBenchmark.fairQueueOfferPoll", "baselineFifoOfferPoll",
      "ReceiptSigningBenchmark.signReceipt", "baselineBareEs384");

  private void addJmh(JsonNode results) {
    Map<String, JsonNode> byKey = new LinkedHashMap<>();
    for (JsonNode r : results) {
      String bench = r.get("benchmark").asText();
      String shortName = bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1);
      byKey.put(shortName + " " + r.path("params"), r);
    }
    for (Map.Entry<String, JsonNode> e : byKey.entrySet()) {
      String shortName = e.getKey().substring(0, e.getKey().indexOf(' '));
      String baselineMethod = JMH_PAIRS.get(shortName);
      if (baselineMethod == null) {
        continue;
      }
      String cls = shortName.substring(0, shortName.indexOf('.'));
      JsonNode base = byKey.get(cls + "." + baselineMethod + " " + e.getValue().path("params"));
      if (base == null) {
        continue;
      }
      JsonNode fm = e.getValue().get("primaryMetric");
      JsonNode bm = base.get("primaryMetric");
      String params = e.getValue().path("params").isMissingNode() ? ""
          : " " + e.getValue().path("params").toString();
      rows.add(new Row("JMH " + cls, shortName.substring(cls.length() + 1) + params
          + " vs " + baselineMethod, fm.get("scoreUnit").asText(), fm.get("score").asDouble(),
          bm.get("score").asDouble(), false,
          Double.isNaN(fm.path("scoreError").asDouble(Double.NaN))
              ? "one iteration: no error bound"
              : String.format("± %.3g vs ± %.3g (99.9%% CI)", fm.get("scoreError").asDouble(),
                  bm.get("scoreError").asDouble())));
      if (shortName.equals("ReceiptSigningBenchmark.signReceipt") && !Double.isNaN(warmP50Ms)) {
        // A warm invocation without a receipt would be this much faster: the receipt's share.
        double perReceiptMs = 1000.0 / fm.get("score").asDouble();
        rows.add(new Row("receipt cost per invocation", "one receipt signed (JMH signReceipt)"
            + " vs a whole warm invocation (1, closed loop, 1 in flight, p50)", "ms", perReceiptMs,
            warmP50Ms, true, "the agent signs one per invocation, sealed or not; no receipt = 0"));
      }
    }
  }

  static String table(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| Scenario | Measure | ConFaaS | Baseline | Unit | Cost × baseline | Note |\n");
    sb.append("|---|---|---:|---:|---|---:|---|\n");
    for (Row r : rows) {
      sb.append(String.format("| %s | %s | %s | %s | %s | %.2f | %s |%n", r.scenario(),
          r.measure(), num(r.figure()), num(r.baseline()), r.unit(), r.costRatio(),
          r.note().replace("|", "/")));
    }
    return sb.toString();
  }

  private static String num(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    return v >= 100 ? String.format("%,.0f", v) : v >= 10 ? String.format("%.1f", v)
        : String.format("%.2f", v);
  }

  private static ObjectNode machine() {
    ObjectNode m = JSON.createObjectNode();
    m.put("nproc", Runtime.getRuntime().availableProcessors());
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          m.put("memTotalKb", Long.parseLong(line.replaceAll("[^0-9]", "")));
        }
      }
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          m.put("cpu", line.substring(line.indexOf(':') + 1).strip());
          break;
        }
      }
    } catch (IOException | RuntimeException e) {
      m.put("procError", e.getMessage());
    }
    m.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    return m;
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  static void log(String line) {
    System.err.println("[bench " + Instant.now() + "] " + line);
  }
}
