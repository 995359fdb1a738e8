package dev.confaas.platform;

import dev.confaas.gateway.AsyncInvocations;
import dev.confaas.gateway.DeployException;
import dev.confaas.gateway.FunctionConfig;
import dev.confaas.gateway.FunctionLogs;
import dev.confaas.gateway.FunctionRegistry;
import dev.confaas.gateway.Gateway;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.gateway.RuntimeCatalog;
import dev.confaas.gateway.kafka.EmbeddedKafka;
import dev.confaas.gateway.kafka.KafkaClients;
import dev.confaas.gateway.kafka.KafkaAsyncInvocations;
import dev.confaas.gateway.kafka.TriggerApi;
import dev.confaas.gateway.kafka.TriggerManager;
import dev.confaas.gateway.kafka.TriggerStore;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.pool.PoolConfig;
import dev.confaas.pool.ProcessTdLauncher;
import dev.confaas.pool.QemuTdLauncher;
import dev.confaas.pool.TdLaunchException;
import dev.confaas.pool.TdLogStreams;
import dev.confaas.pool.TdTimeouts;
import dev.confaas.pool.WarmPool;
import dev.confaas.pool.guest.GuestImage;
import dev.confaas.pool.guest.GuestImageBuilder;
import dev.confaas.scheduler.Scheduler;
import dev.confaas.vendor.framework.FrameworkLayers;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The whole platform in one process, as {@code confaas up} runs it: the function registry, the
 * vendor framework layers (published with the platform's vendor key), a Kafka broker (embedded, in
 * KRaft mode, unless {@code bootstrap.servers} names a cluster), a warm pool of attested TDs on the
 * backend {@code pool.backend} names ({@code process}: agent processes; {@code qemu}: a QEMU VM per
 * TD booting the guest image built here, KVM or TCG; {@code qemu-tdx}: TDX guests, refused at once
 * where QEMU cannot start them), the scheduler, Kafka triggers, durable async invocations, and the
 * HTTP gateway in front. The limits that follow a backend's pace (boot, attestation, health
 * checks, function init, image loads) are derived from it ({@link TdTimeouts}) unless set. This
 * class only wires; every part owns its own behaviour.
 *
 * <p>Every tunable value comes from {@link Settings} ({@code confaas.yaml} in the data directory,
 * {@code CONFAAS_<SECTION>_<KEY>} variables, flags), read once before anything starts.
 *
 * <p>One platform per data directory: {@code confaas.lock} there is locked while it runs (and names
 * its PID and ports), so a second start on the same directory is refused before it touches
 * anything.
 *
 * <p>State under the data directory (kept across restarts): {@code confaas.yaml}, {@code images/},
 * {@code functions/}, {@code keys/} (vendor and sample-author keys), {@code kafka/}, {@code
 * triggers.json}, {@code kafka.port} (the embedded broker's port, reused at the next start), {@code
 * pool/} (the simulated TDX PKI and per-TD work directories), {@code attestation/} (the
 * simulated PKI's root and collateral, public, for verifiers of receipts and evidence), {@code cache/}
 * (built framework layers and JREs, the qemu backends' guest image under {@code cache/guest/<digest
 * of its inputs>}), {@code admin.token}, {@code gateway.url}.
 */
public final class Platform implements AutoCloseable {

  /** The sample function {@code up} deploys on first start. */
  public static final String SAMPLE_FUNCTION = "hello";

  private final Settings settings;
  private final Consumer<String> progress;
  private final Clock clock = Clock.systemUTC();
  private final Deque<AutoCloseable> closeInReverse = new ArrayDeque<>();
  private Gateway gateway;
  private String kafkaBootstrap;
  private List<Path> kafkaClientFiles = List.of();
  private KafkaClients kafkaClients;
  private WarmPool pool;
  private String backend;
  private String accelerator;
  private TdTimeouts timeouts;
  private volatile TdLogStreams logStreams;
  private DataDirLock lock;
  private final List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();

  private Platform(Settings settings, Consumer<String> progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /**
   * Starts everything in {@code settings}' data directory and returns once the gateway listens;
   * {@code progress} hears one line per step. On failure, whatever had started is stopped again
   * before the exception propagates.
   */
  public static Platform start(Settings settings, Consumer<String> progress) throws IOException {
    Platform p = new Platform(settings, progress);
    try {
      p.startAll();
      return p;
    } catch (IOException | RuntimeException e) {
      p.close();
      throw e;
    }
  }

  private void startAll() throws IOException {
    Path data = settings.dataDir();
    Files.createDirectories(data);
    // Before anything else touches the directory: a second platform on it would corrupt the
    // first's Kafka log and TDs.
    lock = DataDirLock.acquire(data, clock.instant());
    closeInReverse.push(lock);
    if (Settings.writeCommentedDefaults(data)) {
      progress.accept(
          "wrote " + settings.file() + ": every setting with its default, commented out");
    }
    List<String> changed = settings.changed();
    progress.accept(
        "settings: " + (changed.isEmpty() ? "all defaults" : String.join(", ", changed)));
    if (settings.poolBackend().equals("qemu-tdx")) {
      // Before anything is built or started: on a host without TDX nothing else is of use.
      try {
        QemuTdLauncher.requireTdx(Path.of(settings.string(Settings.POOL_QEMU)));
      } catch (TdLaunchException e) {
        throw new IOException("the qemu-tdx backend cannot run here: " + e.getMessage(), e);
      }
    }
    PoolConfig poolConfig = settings.pool();
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(
        settings.intValue(Settings.SCHEDULER_TIMER_THREADS), daemon("confaas-timer"));
    closeInReverse.push(timer::shutdownNow);
    ExecutorService workers = Executors.newFixedThreadPool(
        settings.intValue(Settings.SCHEDULER_WORKER_THREADS), daemon("confaas-worker"));
    closeInReverse.push(workers::shutdownNow);
    ExecutorService boots =
        Executors.newFixedThreadPool(poolConfig.maxBootsInFlight() + 1, daemon("confaas-boot"));
    closeInReverse.push(boots::shutdownNow);

    FunctionRegistry registry = FunctionRegistry.open(data, clock);
    for (String q : registry.quarantined()) {
      warnings.add(q);
      progress.accept("WARNING: " + q);
    }

    progress.accept("publishing the vendor framework layers (the first start builds a Java runtime"
        + " with jlink; later starts reuse it)");
    SigningKeyFiles.Loaded vendorKey =
        SigningKeyFiles.loadOrCreate(data.resolve("keys"), "vendor", "confaas vendor", clock);
    RuntimeCatalog runtimes = new RuntimeCatalog();
    List<FrameworkLayers.PublishedLayer> published;
    try {
      published = FrameworkLayers.onThisHost(data.resolve("cache/frameworks"))
          .publish(registry.vendorLayers(), vendorKey.keys().signer(), 1,
              Files.createDirectories(data.resolve("cache/publish")));
    } catch (ImageVerificationException e) {
      throw new IOException("could not publish the framework layers: " + e.getMessage(), e);
    }
    for (FrameworkLayers.PublishedLayer l : published) {
      // Named as `confaas deploy --runtime` takes it (java-aws, not the constant's JAVA_AWS).
      List<String> env = new ArrayList<>(
          List.of("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"));
      l.runtime().executionEnv().ifPresent(e -> env.add("AWS_EXECUTION_ENV=" + e));
      runtimes.put(l.runtime().catalogName(),
          new RuntimeCatalog.Runtime(l.alias().toString(), l.runtime().entrypoint(), env));
    }

    if (settings.kafkaBootstrapServers() == null) {
      progress.accept("starting the embedded Kafka broker (KRaft)");
      // The port of the last start, so clients pointed at it keep working across restarts.
      KafkaPort port = KafkaPort.choose(data, settings.intValue(Settings.KAFKA_PORT));
      port.warning().ifPresent(w -> {
        warnings.add(w);
        progress.accept("WARNING: " + w);
      });
      EmbeddedKafka kafka = EmbeddedKafka.start(
          data.resolve(settings.string(Settings.KAFKA_DATA_DIR)), port.port());
      closeInReverse.push(kafka);
      KafkaPort.remember(data, port.port());
      kafkaBootstrap = kafka.bootstrapServers();
      kafkaClients = kafka.platformClients();
      kafkaClientFiles = List.of(kafka.clientProperties(), kafka.librdkafkaConf());
      lock.record("kafkaPort", "port " + kafkaBootstrap.substring(kafkaBootstrap.lastIndexOf(':') + 1));
    } else {
      kafkaBootstrap = settings.kafkaBootstrapServers();
      String props = settings.string(Settings.KAFKA_CLIENT_PROPERTIES);
      kafkaClients = props.isBlank() ? KafkaClients.plaintext(kafkaBootstrap)
          : KafkaClients.load(kafkaBootstrap, data.resolve(props));
      lock.record("kafkaPort", "external " + kafkaBootstrap);
    }

    startPool(data, timer, boots, meters);
    closeInReverse.push(pool); // before its launcher: the pool stops its TDs, then the launcher
    pool.start();

    Scheduler scheduler = new Scheduler(registry, registry.images(), pool,
        settings.scheduler(timeouts), clock, timer, workers, meters);
    closeInReverse.push(scheduler);
    scheduler.start();

    AsyncInvocations async = KafkaAsyncInvocations.start(
        kafkaClients, scheduler, clock, settings.duration(Settings.ASYNC_RETENTION),
        settings.intValue(Settings.ASYNC_PARTITIONS),
        settings.intValue(Settings.ASYNC_CONCURRENCY), meters);
    closeInReverse.push(async);
    TriggerManager triggers = new TriggerManager(
        new TriggerStore(data), kafkaClients, scheduler, meters, clock,
        settings.intValue(Settings.TRIGGERS_PARTITIONS));
    closeInReverse.push(triggers);
    triggers.start();

    if (settings.deploySample() && registry.get(SAMPLE_FUNCTION).isEmpty()) {
      deploySample(registry, runtimes.all().get("shell"), data);
    }

    gateway = new Gateway(
        GatewayConfig.builder(data)
            .host(settings.gatewayHost())
            .port(settings.gatewayPort())
            .maxBodyBytes(settings.bytes(Settings.GATEWAY_MAX_BODY_BYTES))
            .maxDeployBytes(settings.bytes(Settings.GATEWAY_MAX_DEPLOY_BYTES))
            .idleTimeout(settings.duration(Settings.GATEWAY_IDLE_TIMEOUT))
            .shutdownGrace(settings.duration(Settings.GATEWAY_SHUTDOWN_GRACE))
            .queueAllowance(timeouts.queueAllowance())
            .maxConnections(settings.intValue(Settings.GATEWAY_MAX_CONNECTIONS))
            .maxConnectionsPerClient(settings.intValue(Settings.GATEWAY_MAX_CONNECTIONS_PER_CLIENT))
            .requestHeaderTimeout(settings.duration(Settings.GATEWAY_REQUEST_HEADER_TIMEOUT))
            .clock(clock)
            .runtimes(runtimes)
            .mount("/v1/triggers",
                vertx -> TriggerApi.router(vertx, triggers, n -> registry.get(n).isPresent()))
            .build(),
        scheduler, registry, async, new PlatformTds(pool, scheduler, () -> logStreams), meters, pool::isReady);
    closeInReverse.push(gateway);
    followLogs(gateway.logs(), timer);
    gateway.start();
    lock.record("gatewayPort", Integer.toString(gateway.port()));
  }

  /**
   * The TD backend the settings name ({@code pool.backend}), its launcher, the limits that follow
   * its pace, and the warm pool on it, started. Says which backend and accelerator the TDs run on.
   */
  private void startPool(Path data, ScheduledExecutorService timer, ExecutorService boots,
      PrometheusMeterRegistry meters) throws IOException {
    backend = settings.poolBackend();
    Path poolDir = data.resolve("pool");
    Duration stopGrace = settings.duration(Settings.POOL_STOP_GRACE);
    List<Path> agentClassPath = AgentClassPath.of(AgentClassPath.ofThisJvm()).orElse(null);
    if (backend.equals("process")) {
      accelerator = "none";
      timeouts = settings.tdTimeouts(backend, accelerator);
      ProcessTdLauncher.Config launch = ProcessTdLauncher.Config.defaults(poolDir)
          .withBootTimeout(timeouts.boot())
          .withStopGrace(stopGrace)
          .withFunctionInitTimeout(timeouts.functionInit());
      if (agentClassPath != null) {
        launch = launch.withClassPath(agentClassPath);
      } else {
        progress.accept("function-runtime lists no agent class path ("
            + AgentClassPath.LISTING + "); agents get this JVM's whole class path");
      }
      ProcessTdLauncher launcher = new ProcessTdLauncher(launch);
      closeInReverse.push(launcher);
      publishDevAttestation(data, launcher::collateral, timer);
      progress.accept("booting and attesting " + settings.pool().target()
          + " TDs on the process backend (agent processes on this host, simulated TDX)");
      pool = new WarmPool(launcher, launcher.attestor(timeouts.attest()), settings.pool(timeouts),
          clock, timer, boots, meters);
      return;
    }
    if (agentClassPath == null) {
      throw new IOException("the " + backend + " backend needs the agent (function-runtime, "
          + AgentClassPath.LISTING + ") on this JVM's class path to build the guest image; run"
          + " from the confaas distribution (bin/confaas)");
    }
    progress.accept("building the guest image (kernel, initramfs with a JRE and the agent as init;"
        + " kept in " + data.resolve("cache/guest") + " and reused while its inputs are the same)");
    GuestImageBuilder builder =
        GuestImageBuilder.forAgent(agentClassPath, data.resolve("cache/frameworks"));
    String kernel = settings.string(Settings.POOL_GUEST_KERNEL);
    if (!kernel.isBlank()) {
      builder.kernel(Path.of(kernel));
    }
    GuestImage image = builder.buildCached(data.resolve("cache/guest"));
    progress.accept("guest image " + image.kernel().getParent() + ": kernel "
        + GuestImageBuilder.kernelRelease(image.kernel()).orElse("(release unknown)")
        + ", command line '" + image.cmdline() + "'");
    QemuTdLauncher.Config launch = QemuTdLauncher.Config.defaults(poolDir, image)
        .withQemu(Path.of(settings.string(Settings.POOL_QEMU)))
        .withResources((int) (settings.bytes(Settings.POOL_MEMORY_PER_TD) >> 20),
            settings.intValue(Settings.POOL_VCPUS_PER_TD))
        .withStopGrace(stopGrace);
    if (backend.equals("qemu-tdx")) {
      String socket = settings.string(Settings.POOL_TDX_QUOTE_SOCKET);
      try {
        launch = launch.withTdx(new QemuTdLauncher.Tdx(
            Path.of(settings.string(Settings.POOL_TDX_FIRMWARE)),
            socket.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(socket)));
      } catch (IllegalArgumentException e) {
        throw new IOException("pool.tdxQuoteSocket: " + e.getMessage(), e);
      }
    } else {
      launch = launch.withAccelerator(switch (settings.string(Settings.POOL_ACCELERATOR)) {
        case "kvm" -> QemuTdLauncher.Accelerator.KVM;
        case "tcg" -> QemuTdLauncher.Accelerator.TCG;
        default -> QemuTdLauncher.Accelerator.AUTO;
      });
    }
    accelerator = QemuTdLauncher.chooseAccelerator(launch);
    timeouts = settings.tdTimeouts(backend, accelerator);
    launch = launch.forAccelerator(accelerator, timeouts);
    QemuTdLauncher launcher;
    try {
      launcher = new QemuTdLauncher(launch);
    } catch (TdLaunchException e) {
      throw new IOException("the " + backend + " backend cannot start: " + e.getMessage(), e);
    }
    closeInReverse.push(launcher);
    progress.accept(backend + " backend: each TD is a QEMU VM (" + launch.memoryMb() + " MiB, "
        + launch.vcpus() + " vCPU) on " + accelerator.toUpperCase(java.util.Locale.ROOT)
        + (accelerator.equals("tcg")
            ? " (emulated CPUs: no usable KVM here, so TDs boot in minutes, not seconds)" : "")
        + "; limits: boot " + Setting.formatDuration(timeouts.boot())
        + ", attestation calls " + Setting.formatDuration(timeouts.attest())
        + ", function init " + Setting.formatDuration(timeouts.functionInit())
        + ", image load " + Setting.formatDuration(timeouts.load())
        + ", a call's wait for a cold start " + Setting.formatDuration(timeouts.queueAllowance()));
    if (backend.equals("qemu")) {
      publishDevAttestation(data, launcher::collateral, timer);
    }
    progress.accept("booting and attesting " + settings.pool().target() + " TDs on the " + backend
        + " backend (" + accelerator.toUpperCase(java.util.Locale.ROOT) + ", "
        + (backend.equals("qemu") ? "simulated TDX in the guest" : "TDX") + ")");
    pool = new WarmPool(launcher, launcher.attestor(timeouts.attest()), settings.pool(timeouts),
        clock, timer, boots, meters);
  }

  /**
   * Verifiers outside the platform (confaas verify, invoke --sealed) need the simulated root and
   * collateral to check these TDs' quotes; they are public, and valid for a day, so refresh them.
   */
  private void publishDevAttestation(Path data, java.util.function.Supplier<dev.confaas.attestation.Collateral> collateral,
      ScheduledExecutorService timer) throws IOException {
    DevAttestationFiles devAttestation = new DevAttestationFiles(data, collateral);
    devAttestation.refresh();
    var refresh = timer.scheduleWithFixedDelay(() -> {
      try {
        devAttestation.refresh();
      } catch (RuntimeException e) {
        progress.accept("WARNING: " + e.getMessage());
      }
    }, 6, 6, java.util.concurrent.TimeUnit.HOURS);
    closeInReverse.push(() -> refresh.cancel(false));
  }

  /**
   * Streams every attested TD's function output into the gateway's per-function store: one
   * supervised stream per TD, reopened with back-off while the TD lives.
   */
  private void followLogs(FunctionLogs logs, ScheduledExecutorService timer) {
    logStreams = new TdLogStreams(
        (td, l) -> logs.append(l.getFunctionName(), l.getFunctionVersion(), l.getRequestId(),
            l.getInstanceId(), td, l.getFd(), l.getLine().toByteArray()),
        timer, clock, Duration.ofMillis(200), Duration.ofSeconds(10));
    closeInReverse.push(logStreams);
    pool.onAttested(td -> logStreams.follow(td.id(), td.agent(), td::isAlive));
  }

  /** Deploys the sample: a shell handler that greets whatever it is sent. */
  private void deploySample(FunctionRegistry registry, RuntimeCatalog.Runtime shell, Path data)
      throws IOException {
    progress.accept("deploying the sample function '" + SAMPLE_FUNCTION + "'");
    Path work = Files.createTempDirectory(data.resolve("cache"), "sample-");
    try {
      Path task = Files.createDirectories(work.resolve("task"));
      Path handler = task.resolve("hello.sh");
      Files.writeString(handler, String.join("\n",
          "#!/bin/sh",
          "# The event arrives on stdin; what this prints is the response.",
          "name=$(cat)",
          "echo \"Hello, ${name:-world}! (from function instance $(hostname) in an attested ConFaaS TD)\"",
          ""), StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
      SigningKeyFiles.Loaded author = SigningKeyFiles.loadOrCreate(
          data.resolve("keys"), "sample-author", "confaas sample author", clock);
      FunctionImageBuilder.Built built = FunctionImageBuilder.build(
          shell, task, "hello.sh", FunctionConfig.DEFAULT_CONCURRENCY, author.keys().signer(),
          work.resolve("hello.tar"));
      registry.deploy(new FunctionRegistry.DeployRequest(
          new FunctionConfig(SAMPLE_FUNCTION, FunctionConfig.DEFAULT_CONCURRENCY, Duration.ofSeconds(30), 128,
              FunctionConfig.InvokeAuth.NONE),
          built.signed().manifest().bytes(),
          built.signed().signature(),
          built.signed().certificateDer(),
          List.of(new FunctionRegistry.UploadedLayer(built.layer(), built.layerTar()))));
    } catch (DeployException e) {
      throw new IOException("could not deploy the sample function: " + e.getMessage(), e);
    } finally {
      deleteTree(work);
    }
  }

  /**
   * Why no platform can start on {@code dataDir} right now, when another one runs there: a message
   * naming its PID, gateway port and Kafka port. Empty when the directory is free. {@link #start}
   * refuses a directory in use anyway; this lets a caller say so before doing anything else.
   */
  public static java.util.Optional<String> runningOn(Path dataDir) {
    return DataDirLock.holderOf(dataDir.toAbsolutePath().normalize());
  }

  public URI gatewayUrl() {
    return gateway.url();
  }

  public String adminToken() {
    return gateway.adminToken();
  }

  /** True when this start generated the admin token (so it should be shown, once). */
  public boolean adminTokenCreated() {
    return gateway.adminTokenCreated();
  }

  /** {@code bootstrap.servers} for producers to trigger topics and readers of reply topics. */
  public String kafkaBootstrap() {
    return kafkaBootstrap;
  }

  /**
   * The platform's own Kafka client settings (with the embedded broker: its super user), for
   * in-process tools such as the load harness. Never hand these out; see {@link #kafkaClientFiles}.
   */
  public KafkaClients kafkaPlatformClients() {
    return kafkaClients;
  }

  /**
   * The embedded broker's client settings, {@code client.properties} (Java clients) and {@code
   * librdkafka.conf} ({@code kcat -F}), to hand to producers of trigger topics; empty with an
   * external cluster.
   */
  public List<Path> kafkaClientFiles() {
    return kafkaClientFiles;
  }

  /**
   * What the start found wrong but could start without (a function file that could not be read
   * and was moved aside, the Kafka port of the last start taken), one message each saying what to
   * do; empty when all was well.
   */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  /** The TD backend: {@code process}, {@code qemu} or {@code qemu-tdx}. */
  public String tdBackend() {
    return backend;
  }

  /** What runs the TDs' vCPUs: {@code kvm}, {@code tcg}, or {@code none} on the process backend. */
  public String tdAccelerator() {
    return accelerator;
  }

  /** True once the warm pool holds an attested TD. */
  public boolean ready() {
    return pool != null && pool.isReady();
  }

  /** Stops the gateway first (in-flight calls finish), then everything behind it. */
  @Override
  public void close() {
    while (!closeInReverse.isEmpty()) {
      try {
        closeInReverse.pop().close();
      } catch (Exception e) {
        progress.accept("while stopping: " + e.getMessage());
      }
    }
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private static void deleteTree(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // scratch space under cache/: a leftover does no harm
    }
  }

}
