package dev.confaas.cli;

import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code confaas up}: runs the whole platform in this process until interrupted. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Start the platform and run it until Ctrl-C.",
      "That is the HTTP gateway, an embedded Kafka broker (KRaft), a warm pool of",
      "attested TDs on the process backend (simulated TDX), the scheduler and Kafka",
      "triggers, and the sample function 'hello'. Once the sample answers its first",
      "invocation, 'up' prints a curl line to call it. State (keys, images, functions,",
      "triggers, Kafka data and port) lives in the data directory and survives a",
      "restart."
    },
    footer = {
      "",
      "Settings: every tunable (gateway, kafka, pool, scheduler, async, triggers,",
      "platform) is a key in DATA_DIR/confaas.yaml, written on first start with every",
      "key and its default commented out (--print-settings shows the same). Later",
      "sources win: built-in default < confaas.yaml < environment variable",
      "CONFAAS_<SECTION>_<KEY> (the key in upper snake case, e.g. CONFAAS_POOL_SIZE=4,",
      "CONFAAS_SCHEDULER_QUEUE_CAPACITY=500) < the flags above. An unknown key or a",
      "value out of range stops the start with a message naming the key.",
      "",
      "Examples:",
      "  confaas up",
      "  confaas up --port 9090 --data-dir /var/lib/confaas --pool-size 4",
      "  confaas up --bootstrap-servers kafka1:9092   # use an existing Kafka cluster",
      "  CONFAAS_POOL_MAX_AGE=30m confaas up",
      "",
      "Exit codes: 0 stopped cleanly, 1 could not start (the reason is printed),",
      "2 usage error."
    })
final class UpCommand implements Runnable {

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      description = "Gateway HTTP port; 0 = any free port (setting gateway.port, default 8080).")
  Integer port;

  @Option(
      names = "--host",
      description = "Gateway listen address (setting gateway.host, default 127.0.0.1).")
  String host;

  @Option(
      names = "--data-dir",
      description = "Where state lives (default: $CONFAAS_DATA_DIR, else ~/.confaas).")
  Path dataDir;

  @Option(
      names = "--kafka-port",
      description = "Embedded Kafka broker port; 0 = the port of the last start on this data"
          + " directory, else any free one, printed at start (setting kafka.port, default 0).")
  Integer kafkaPort;

  @Option(
      names = "--bootstrap-servers",
      description = "Use this Kafka cluster instead of the embedded broker"
          + " (setting kafka.bootstrapServers).")
  String bootstrapServers;

  @Option(
      names = "--pool-size",
      description = "Attested idle TDs to keep ready (setting pool.size, default 2).")
  Integer poolSize;

  @Option(
      names = "--backend",
      paramLabel = "BACKEND",
      description = "What a TD is: process (an agent process on this host, simulated TDX; the"
          + " default), qemu (a QEMU VM per TD, KVM or else TCG, booting a guest image built on"
          + " first start; simulated TDX in the guest) or qemu-tdx (a TDX guest on a TDX host;"
          + " refused where QEMU cannot start one) (setting pool.backend).")
  String backend;

  @Option(
      names = "--no-sample",
      description = "Do not deploy the sample function (setting platform.deploySample).")
  boolean noSample;

  @Option(
      names = "--print-settings",
      description = "Print every setting with its default and meaning (confaas.yaml's reference)"
          + " and exit.")
  boolean printSettings;

  /** The flags that were given, as setting keys: they override confaas.yaml and the environment. */
  Map<String, String> flags() {
    Map<String, String> f = new LinkedHashMap<>();
    if (port != null) {
      f.put("gateway.port", port.toString());
    }
    if (host != null) {
      f.put("gateway.host", host);
    }
    if (kafkaPort != null) {
      f.put("kafka.port", kafkaPort.toString());
    }
    if (bootstrapServers != null) {
      f.put("kafka.bootstrapServers", bootstrapServers);
    }
    if (poolSize != null) {
      f.put("pool.size", poolSize.toString());
    }
    if (backend != null) {
      f.put("pool.backend", backend);
    }
    if (noSample) {
      f.put("platform.deploySample", "false");
    }
    return f;
  }

  /** Where settings and the package check are looked up; tests point it at their own. */
  static Supplier<Map<String, String>> environment = System::getenv;

  /**
   * The environment variable naming the program that makes sure the Debian packages the runtime
   * layers are built from are installed ({@code bin/confaas} sets it to {@code
   * bin/ensure-debian-packages}). It runs only when the platform really starts: not for {@code
   * --help}, {@code --print-settings} or settings that do not hold.
   */
  static final String ENSURE_PACKAGES = "CONFAAS_ENSURE_PACKAGES";

  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(15);

  @Override
  public void run() {
    PrintWriter out = spec.commandLine().getOut();
    if (printSettings) {
      out.print(Settings.referenceText());
      out.flush();
      return;
    }
    Map<String, String> env = environment.get();
    Path data = dataDir != null ? dataDir : GatewayEndpoint.dataDir(env);
    Settings settings = Settings.load(data, env, flags());
    // Checked first: a second platform on the same directory is the likelier cause of a taken port,
    // and its PID is the more useful message. Platform.start takes the lock itself.
    Platform.runningOn(settings.dataDir()).ifPresent(inUse -> {
      throw new Main.CliException("could not start: " + inUse);
    });
    failFastIfPortTaken(settings.gatewayHost(), settings.gatewayPort());
    ensurePackages(env.get(ENSURE_PACKAGES), spec.commandLine().getErr());
    Platform platform;
    try {
      platform = Platform.start(
          settings,
          line -> {
            out.println("confaas up: " + line);
            out.flush();
          });
    } catch (IOException | RuntimeException e) {
      throw new Main.CliException("could not start: " + e.getMessage(), e);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      out.println("confaas up: stopping (in-flight invocations finish first)");
      out.flush();
      platform.close();
      stopped.countDown();
    }, "confaas-up-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    String url = platform.gatewayUrl().toString();
    out.println();
    out.println("ConFaaS is up (TDs: " + describeTds(platform) + ").");
    out.println("  gateway:   " + url);
    out.println("  kafka:     " + platform.kafkaBootstrap() + "   (bootstrap.servers)");
    if (!platform.kafkaClientFiles().isEmpty()) {
      // The broker requires SASL; these hold the client user's settings (trigger topics only).
      out.println("             client settings: " + platform.kafkaClientFiles().get(0)
          + " (Java clients), " + platform.kafkaClientFiles().get(1) + " (kcat -F)");
    }
    out.println("  data dir:  " + data.toAbsolutePath());
    if (platform.adminTokenCreated()) {
      out.println("  admin token (shown once; also in " + data.resolve(GatewayEndpoint.TOKEN_FILE)
          + "):");
      out.println("    " + platform.adminToken());
    } else {
      out.println("  admin token: in " + data.resolve(GatewayEndpoint.TOKEN_FILE));
    }
    out.println();
    out.flush();
    try {
      if (settings.deploySample()) {
        // The curl line only once it works: on a loaded machine the first TDs take a while.
        if (awaitSample(platform, settings.sampleTimeout(), out, stopped)) {
          out.println();
          out.println("Invoke the sample function:");
          out.println("  curl -s -X POST " + url + "/v1/functions/" + Platform.SAMPLE_FUNCTION
              + "/invoke -d 'ConFaaS'");
        }
      } else {
        awaitAttestedTd(platform, settings.sampleTimeout(), out, stopped);
      }
      if (stopped.getCount() == 0) {
        return; // stopped while waiting
      }
      out.println();
      out.println("Deploy your own (in another terminal): bin/confaas deploy --name NAME"
          + " --runtime shell --handler handler.sh; then: bin/confaas invoke NAME --data '...'");
      out.println("Press Ctrl-C to stop.");
      out.flush();
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Runs the package check {@code bin/confaas} names, passing on what it says; a failure stops the
   * start before anything is built from the packages.
   */
  static void ensurePackages(String program, PrintWriter err) {
    if (program == null || program.isBlank()) {
      return;
    }
    try {
      Process p = new ProcessBuilder(program).redirectErrorStream(true).start();
      p.getOutputStream().close();
      try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(
          p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
        lines.lines().forEach(err::println);
      }
      err.flush();
      if (p.waitFor() != 0) {
        throw new Main.CliException("could not start: the Debian packages the runtime layers are"
            + " built from are missing (see above)");
      }
    } catch (IOException e) {
      throw new Main.CliException("could not run the package check " + program + ": "
          + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Main.CliException("interrupted while checking the Debian packages");
    }
  }

  /** What a TD is on the platform's backend, and whether its attestation is real. */
  static String describeTds(Platform platform) {
    return switch (platform.tdBackend()) {
      case "qemu" -> "qemu backend, a QEMU VM per TD on " + platform.tdAccelerator().toUpperCase(
          java.util.Locale.ROOT) + ", SIMULATED TDX in the guest - not hardware attestation";
      case "qemu-tdx" -> "qemu-tdx backend, a TDX guest per TD, attested with the TDX module's quotes";
      default -> "process backend, SIMULATED TDX - not hardware attestation";
    };
  }

  /** Says at once when the gateway port is taken, rather than after booting everything else. */
  private static void failFastIfPortTaken(String host, int port) {
    if (port == 0) {
      return;
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new java.net.InetSocketAddress(host, port));
    } catch (IOException e) {
      throw new Main.CliException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
          + "; pick another port with --port (or gateway.port in confaas.yaml), or stop what"
          + " uses it (is ConFaaS already up?)");
    }
  }

  /**
   * Invokes the sample as the curl line will, until it answers 200 or {@code limit} passes; says
   * every {@link #PROGRESS_EVERY} how long it has waited and what the last attempt got. Returns
   * whether it answered.
   */
  private static boolean awaitSample(
      Platform platform, Duration limit, PrintWriter out, CountDownLatch stopped)
      throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    URI invoke = URI.create(
        platform.gatewayUrl() + "/v1/functions/" + Platform.SAMPLE_FUNCTION + "/invoke");
    long start = System.nanoTime();
    long deadline = start + limit.toNanos();
    long nextProgress = start + PROGRESS_EVERY.toNanos();
    out.println("confaas up: waiting for the sample function '" + Platform.SAMPLE_FUNCTION
        + "' to answer its first invocation (at most " + limit.toSeconds() + " s, setting"
        + " platform.sampleTimeout)");
    out.flush();
    String last = "no answer yet";
    while (stopped.getCount() > 0 && System.nanoTime() < deadline) {
      long left = Math.max(1, deadline - System.nanoTime());
      CompletableFuture<HttpResponse<String>> call = http.sendAsync(
          HttpRequest.newBuilder(invoke)
              .timeout(Duration.ofNanos(left))
              // The admin token may invoke any function, should 'hello' have been redeployed so.
              .header("Authorization", "Bearer " + platform.adminToken())
              .POST(HttpRequest.BodyPublishers.ofString("ConFaaS"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      while (!call.isDone() && stopped.getCount() > 0) {
        try {
          call.get(1, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
          // not answered yet, or failed: looked at below
        }
        if (System.nanoTime() - nextProgress >= 0) {
          out.println("confaas up: still waiting for '" + Platform.SAMPLE_FUNCTION + "' ("
              + Duration.ofNanos(System.nanoTime() - start).toSeconds() + " s; "
              + (platform.ready() ? "an attested TD is ready" : "no TD is attested yet")
              + "; last attempt: " + last + ")");
          out.flush();
          nextProgress += PROGRESS_EVERY.toNanos();
        }
      }
      if (!call.isDone()) {
        call.cancel(true);
        return false;
      }
      try {
        HttpResponse<String> r = call.get();
        if (r.statusCode() == 200) {
          out.println("confaas up: ready: the sample function answered after "
              + Duration.ofNanos(System.nanoTime() - start).toSeconds() + " s: "
              + r.body().strip());
          out.flush();
          return true;
        }
        last = GatewayClient.describe(r.statusCode(), r.body());
      } catch (ExecutionException e) {
        last = String.valueOf(e.getCause());
      }
      Thread.sleep(1_000);
    }
    if (stopped.getCount() > 0) {
      out.println("confaas up: the sample function did not answer within " + limit.toSeconds()
          + " s (last attempt: " + last + "); the platform keeps running: see the lines above"
          + " and 'confaas logs " + Platform.SAMPLE_FUNCTION + "'");
      out.flush();
    }
    return false;
  }

  /** Without the sample: waits for the warm pool to hold an attested TD, and says so. */
  private static void awaitAttestedTd(
      Platform platform, Duration limit, PrintWriter out, CountDownLatch stopped)
      throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!platform.ready() && stopped.getCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    out.println("confaas up: ready (an attested TD is waiting in the warm pool)");
    out.flush();
  }
}
