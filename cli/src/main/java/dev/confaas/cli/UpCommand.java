package dev.confaas.cli;

import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code confaas up}: runs the whole platform in this process until interrupted. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Start the platform: the HTTP gateway, an embedded Kafka broker (KRaft), a warm pool of",
      "attested TDs on the process backend (simulated TDX), the scheduler and Kafka triggers; deploy",
      "the sample function 'hello' on first start. Stops cleanly on Ctrl-C.",
      "State (keys, images, functions, triggers, Kafka data) lives in the data directory and",
      "survives a restart."
    },
    footer = {
      "",
      "Settings: every tunable (gateway, kafka, pool, scheduler, async, triggers) is a key",
      "in DATA_DIR/confaas.yaml, written on first start with every key and its default",
      "commented out (--print-settings shows the same). Later sources win:",
      "built-in default < confaas.yaml < environment variable CONFAAS_<SECTION>_<KEY>",
      "(the key in upper snake case, e.g. CONFAAS_POOL_SIZE=4,",
      "CONFAAS_SCHEDULER_QUEUE_CAPACITY=500) < the flags above. An unknown key or a value",
      "out of range stops the start with a message naming the key.",
      "",
      "Examples:",
      "  confaas up",
      "  confaas up --port 9090 --data-dir /var/lib/confaas --pool-size 4",
      "  confaas up --bootstrap-servers kafka1:9092   # use an existing Kafka cluster",
      "  CONFAAS_POOL_MAX_AGE=30m confaas up",
      "",
      "Exit codes: 0 stopped cleanly, 1 could not start (the reason is printed), 2 usage error."
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
      description = "Embedded Kafka broker port; 0 = any free port, printed at start"
          + " (setting kafka.port, default 0).")
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

  @Override
  public void run() {
    PrintWriter out = spec.commandLine().getOut();
    if (printSettings) {
      out.print(Settings.referenceText());
      out.flush();
      return;
    }
    Path data = dataDir != null ? dataDir : GatewayEndpoint.dataDir(System.getenv());
    Settings settings = Settings.load(data, System.getenv(), flags());
    // Checked first: a second platform on the same directory is the likelier cause of a taken port,
    // and its PID is the more useful message. Platform.start takes the lock itself.
    Platform.runningOn(settings.dataDir()).ifPresent(inUse -> {
      throw new Main.CliException("could not start: " + inUse);
    });
    failFastIfPortTaken(settings.gatewayHost(), settings.gatewayPort());
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
    if (settings.deploySample()) {
      out.println();
      out.println("Invoke the sample function:");
      out.println("  curl -s -X POST " + url + "/v1/functions/" + Platform.SAMPLE_FUNCTION
          + "/invoke -d 'ConFaaS'");
    }
    out.println();
    out.println("Deploy your own (in another terminal): bin/confaas deploy --name NAME --runtime shell"
        + " --handler handler.sh; then: bin/confaas invoke NAME --data '...'");
    out.println("Press Ctrl-C to stop.");
    out.flush();
    try {
      awaitReady(platform, out, stopped);
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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

  private static void awaitReady(Platform platform, PrintWriter out, CountDownLatch stopped)
      throws InterruptedException {
    // An emulated (TCG) guest takes minutes to boot: say so once, then keep waiting to tell.
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    boolean told = false;
    while (!platform.ready()) {
      if (stopped.getCount() == 0) {
        return;
      }
      if (!told && System.nanoTime() > deadline) {
        out.println("confaas up: no TD is attested yet (" + platform.tdBackend() + " backend, "
            + platform.tdAccelerator() + "); still waiting, see the log above if it fails");
        out.flush();
        told = true;
      }
      Thread.sleep(200);
    }
    out.println("confaas up: ready (an attested TD is waiting in the warm pool)");
    out.flush();
  }
}
