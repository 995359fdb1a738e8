package dev.confaas.cli;

import dev.confaas.platform.Platform;
import dev.confaas.pool.PoolConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
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
      "Examples:",
      "  confaas up",
      "  confaas up --port 9090 --data-dir /var/lib/confaas --pool-size 4",
      "  confaas up --bootstrap-servers kafka1:9092   # use an existing Kafka cluster",
      "",
      "Exit codes: 0 stopped cleanly, 1 could not start (the reason is printed), 2 usage error."
    })
final class UpCommand implements Runnable {

  @Spec CommandSpec spec;

  @Option(names = "--port", description = "Gateway HTTP port (default: ${DEFAULT-VALUE}; 0 = any free port).")
  int port = 8080;

  @Option(names = "--host", description = "Gateway listen address (default: ${DEFAULT-VALUE}).")
  String host = "127.0.0.1";

  @Option(
      names = "--data-dir",
      description = "Where state lives (default: $CONFAAS_DATA_DIR, else ~/.confaas).")
  Path dataDir;

  @Option(
      names = "--kafka-port",
      description = "Embedded Kafka broker port (default: 0 = any free port; printed at start).")
  int kafkaPort = 0;

  @Option(
      names = "--bootstrap-servers",
      description = "Use this Kafka cluster instead of the embedded broker.")
  String bootstrapServers;

  @Option(names = "--pool-size", description = "Attested idle TDs to keep ready (default: ${DEFAULT-VALUE}).")
  int poolSize = 2;

  @Option(names = "--no-sample", description = "Do not deploy the sample function.")
  boolean noSample;

  @Override
  public void run() {
    PrintWriter out = spec.commandLine().getOut();
    Path data = dataDir != null ? dataDir : GatewayEndpoint.dataDir(System.getenv());
    if (poolSize < 1) {
      throw new Main.CliException("--pool-size must be at least 1, was " + poolSize);
    }
    PoolConfig defaults = PoolConfig.defaults();
    PoolConfig pool = new PoolConfig(
        poolSize, 1, Math.max(defaults.max(), poolSize * 4), defaults.maxBootsInFlight(),
        defaults.healthInterval(), defaults.maxAge(), defaults.maxImagesPerTd(),
        defaults.drainTimeout());
    failFastIfPortTaken();
    Platform platform;
    try {
      platform = Platform.start(
          new Platform.Config(data, host, port, kafkaPort, bootstrapServers, pool, !noSample),
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
    out.println("ConFaaS is up (TDs: process backend, SIMULATED TDX - not hardware attestation).");
    out.println("  gateway:   " + url);
    out.println("  kafka:     " + platform.kafkaBootstrap() + "   (bootstrap.servers)");
    out.println("  data dir:  " + data.toAbsolutePath());
    if (platform.adminTokenCreated()) {
      out.println("  admin token (shown once; also in " + data.resolve(GatewayEndpoint.TOKEN_FILE)
          + "):");
      out.println("    " + platform.adminToken());
    } else {
      out.println("  admin token: in " + data.resolve(GatewayEndpoint.TOKEN_FILE));
    }
    if (!noSample) {
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
      awaitReady(platform, out);
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Says at once when the gateway port is taken, rather than after booting everything else. */
  private void failFastIfPortTaken() {
    if (port == 0) {
      return;
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new java.net.InetSocketAddress(host, port));
    } catch (IOException e) {
      throw new Main.CliException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
          + "; pick another port with --port, or stop what uses it (is ConFaaS already up?)");
    }
  }

  private static void awaitReady(Platform platform, PrintWriter out) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (!platform.ready() && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    out.println(platform.ready()
        ? "confaas up: ready (an attested TD is waiting in the warm pool)"
        : "confaas up: no TD is attested yet; see the log above for why");
    out.flush();
  }
}
