package dev.confaas.runtime;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs function instances inside the TD: starts them isolated as far as the host allows (see
 * {@link #isolation()}), serves each the Lambda Runtime API, hands them invocations one at a time,
 * enforces deadlines, and replaces instances that die. Nothing a function does (hang, crash, write
 * where it may not) reaches the agent beyond the failure reported for its invocation.
 *
 * <pre>{@code
 * try (InstanceSupervisor s = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(stateDir))) {
 *   FunctionSpec spec = FunctionSpec.builder("upper", dir, List.of("/var/task/bootstrap")).build();
 *   InstanceOutcome r = s.invoke(spec, Invocation.of(payload, Duration.ofSeconds(3))).join();
 * }
 * }</pre>
 */
public final class InstanceSupervisor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InstanceSupervisor.class);
  private static final int MAX_REMEMBERED_INSTANCES = 1000;

  /**
   * Settings of the supervisor.
   *
   * @param clock source of every timestamp shown to functions and of invocation durations
   * @param stateDir where each instance gets an (empty, on the host) directory to build its root in
   * @param runAsUid user function processes run as (ignored without namespaces)
   * @param runAsGid their group
   * @param maxResponseBytes largest response a function may post (Lambda: 6 MiB)
   * @param maxQueuedInvocations invocations that may wait for an instance, per image
   * @param isolate use whatever isolation the host allows; false runs functions as plain child
   *     processes (only for hosts where probing itself misbehaves, and to test that path)
   */
  public record Config(
      Clock clock,
      Path stateDir,
      int runAsUid,
      int runAsGid,
      int maxResponseBytes,
      int maxQueuedInvocations,
      boolean isolate) {
    public Config {
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(stateDir, "stateDir");
      if (maxResponseBytes < 1 || maxQueuedInvocations < 1) {
        throw new IllegalArgumentException("maxResponseBytes and maxQueuedInvocations must be positive");
      }
    }

    /** Lambda's limits, the system clock, and {@code nobody} as the functions' user. */
    public static Config defaults(Path stateDir) {
      return new Config(
          Clock.systemUTC(),
          stateDir,
          65534,
          65534,
          LambdaRuntimeApi.DEFAULT_MAX_RESPONSE_BYTES,
          1000,
          true);
    }

    public Config withClock(Clock c) {
      return new Config(c, stateDir, runAsUid, runAsGid, maxResponseBytes, maxQueuedInvocations, isolate);
    }

    public Config withMaxResponseBytes(int n) {
      return new Config(clock, stateDir, runAsUid, runAsGid, n, maxQueuedInvocations, isolate);
    }

    public Config withIsolation(boolean on) {
      return new Config(clock, stateDir, runAsUid, runAsGid, maxResponseBytes, maxQueuedInvocations, on);
    }
  }

  private final Config config;
  private final IsolationReport isolation;
  private final Optional<NetNamespace> netns;
  private final InstanceLauncher launcher;
  private final ExecutorService workers;
  private final ScheduledExecutorService scheduler;
  private final NioEventLoopGroup runtimeApiLoop;
  private final ThreadFactory threads;
  private final Map<String, FunctionPool> pools = new ConcurrentHashMap<>();
  private final Map<String, FunctionInstance> instances = new ConcurrentHashMap<>();
  private final AtomicLong nextInstance = new AtomicLong(1);
  private final LogBuffer logs = new LogBuffer();
  private final List<Consumer<LogLine>> logListeners = new CopyOnWriteArrayList<>();
  private final SupervisorContext ctx;

  private InstanceSupervisor(Config config) throws IOException {
    this.config = config;
    Files.createDirectories(config.stateDir());
    Optional<NetNamespace> ns = Optional.empty();
    String nsFailure = "isolation is turned off in the agent's configuration";
    if (config.isolate()) {
      try {
        ns = Optional.of(NetNamespace.open());
      } catch (IllegalStateException | UnsatisfiedLinkError | NoClassDefFoundError e) {
        nsFailure = e.getMessage();
      }
    }
    this.netns = ns;
    this.isolation = config.isolate() ? IsolationProbe.probe(ns, nsFailure) : IsolationProbe.none();
    this.launcher = new InstanceLauncher(isolation, config.runAsUid(), config.runAsGid());
    AtomicLong threadNo = new AtomicLong();
    this.threads =
        r -> {
          Thread t =
              new Thread(
                  () -> {
                    netns.ifPresent(NetNamespace::joinAgentNamespace);
                    r.run();
                  },
                  "confaas-supervisor-" + threadNo.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    this.workers = Executors.newCachedThreadPool(threads);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(threads);
    this.runtimeApiLoop = new NioEventLoopGroup(2, threads);
    this.ctx = new Context();
    log.info("function instance isolation on this host:\n{}", isolation.describe());
  }

  /** Probes the host's isolation and returns a supervisor with no instances. */
  public static InstanceSupervisor start(Config config) throws IOException {
    return new InstanceSupervisor(config);
  }

  /** What isolation instances get on this host. */
  public IsolationReport isolation() {
    return isolation;
  }

  /**
   * Starts an instance of {@code spec} with the caller's environment. The instance is STARTING
   * until it first calls {@code invocation/next}.
   *
   * @return the instance ID
   * @throws IllegalArgumentException when the spec's env rules refuse {@code env} (the message says which entry and why)
   * @throws CapacityExceededException when the image already runs maxInstances instances
   */
  public String startInstance(FunctionSpec spec, List<String> env) {
    return startInstance(spec, env, InstanceSettings.defaults(spec));
  }

  /**
   * Starts an instance that serves one deployment ({@code settings}); otherwise as {@link
   * #startInstance(FunctionSpec, List)}.
   */
  public String startInstance(FunctionSpec spec, List<String> env, InstanceSettings settings) {
    return pool(spec).start(env, settings).id;
  }

  /** The deployment an instance serves. */
  public InstanceSettings settingsOf(String instanceId) {
    return instance(instanceId).settings;
  }

  /**
   * Runs an invocation on any instance of {@code spec}'s image, starting one if needed.
   *
   * @throws CapacityExceededException when too many invocations already wait for an instance
   */
  public CompletableFuture<InstanceOutcome> invoke(FunctionSpec spec, Invocation invocation) {
    return pool(spec).invoke(invocation, null);
  }

  /**
   * Runs an invocation on one instance, waiting for it to become idle.
   *
   * @throws NoSuchElementException when there is no such instance
   * @throws IllegalStateException when it has exited
   */
  public CompletableFuture<InstanceOutcome> invokeInstance(String instanceId, Invocation invocation) {
    FunctionInstance instance = instance(instanceId);
    return pools.get(instance.spec.imageId()).invoke(invocation, instance);
  }

  /**
   * Sends a signal the image's manifest allows (ACON {@code signals}: positive to the instance's
   * first process, negative to its process group).
   *
   * @throws IllegalArgumentException when the manifest does not list {@code signal}
   */
  public void signal(String instanceId, int signal) {
    FunctionInstance instance = instance(instanceId);
    if (!instance.spec.signals().contains(signal)) {
      throw new IllegalArgumentException(
          "signal " + signal + " is not in the manifest's signals " + instance.spec.signals()
              + " of image " + instance.spec.imageId());
    }
    instance.signal(signal);
  }

  /**
   * The spec an instance runs, with the Lambda settings (name, version) its image's first Start
   * fixed; empty once the instance is forgotten.
   */
  public java.util.Optional<FunctionSpec> specOf(String instanceId) {
    FunctionInstance instance = instances.get(instanceId);
    return instance == null ? java.util.Optional.empty() : java.util.Optional.of(instance.spec);
  }

  /** Stops an instance for good (the host's own decision, e.g. to free room). */
  public void stop(String instanceId) {
    instance(instanceId).stop();
  }

  /** Every instance this supervisor started, live or exited, in start order. */
  public List<InstanceStatus> instances() {
    List<InstanceStatus> all = new ArrayList<>();
    instances.values().forEach(i -> all.add(i.status()));
    all.sort(
        (a, b) ->
            Long.compare(
                Long.parseLong(a.instanceId().substring(2)), Long.parseLong(b.instanceId().substring(2))));
    return all;
  }

  /** Live instances of an image. */
  public List<InstanceStatus> instancesOf(String imageId) {
    FunctionPool pool = pools.get(imageId);
    if (pool == null) {
      return List.of();
    }
    return pool.instances().stream().map(FunctionInstance::status).toList();
  }

  /**
   * Receives every line functions write to their declared logFDs. Called on the instance's
   * output-reading thread; keep it quick.
   *
   * @return closing it stops delivery
   */
  public AutoCloseable onLog(Consumer<LogLine> listener) {
    logListeners.add(listener);
    return () -> logListeners.remove(listener);
  }

  /** The recent shareable lines every log stream reads from, each at its own pace. */
  LogBuffer logs() {
    return logs;
  }

  private FunctionInstance instance(String instanceId) {
    FunctionInstance instance = instances.get(instanceId);
    if (instance == null) {
      throw new NoSuchElementException("no instance " + instanceId + " in this agent");
    }
    return instance;
  }

  private FunctionPool pool(FunctionSpec spec) {
    return pools.computeIfAbsent(
        spec.imageId(),
        id ->
            new FunctionPool(
                spec,
                ctx,
                () -> "i-" + nextInstance.getAndIncrement(),
                this::track,
                config.maxQueuedInvocations()));
  }

  /** Remembers an instance for Inspect; exited ones are forgotten once there are many. */
  private void track(FunctionInstance instance) {
    instances.put(instance.id, instance);
    if (instances.size() > MAX_REMEMBERED_INSTANCES) {
      instances.values().removeIf(i -> !i.isLive());
    }
  }

  /** Stops every instance and the supervisor's threads. */
  @Override
  public void close() {
    CompletableFuture<?>[] stopping =
        pools.values().stream().map(FunctionPool::stopAll).toArray(CompletableFuture[]::new);
    try {
      // Let exit handling (reaping, unmount points, cgroups) finish before the threads go.
      CompletableFuture.allOf(stopping).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("not every instance ended within 10 s of close: {}", e.toString());
    }
    workers.shutdown();
    scheduler.shutdownNow();
    runtimeApiLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    netns.ifPresent(NetNamespace::close);
    isolation.memory().close();
  }

  private final class Context implements SupervisorContext {
    @Override
    public Clock clock() {
      return config.clock();
    }

    @Override
    public Path stateDir() {
      return config.stateDir();
    }

    @Override
    public int maxResponseBytes() {
      return config.maxResponseBytes();
    }

    @Override
    public IsolationReport isolation() {
      return isolation;
    }

    @Override
    public InstanceLauncher launcher() {
      return launcher;
    }

    @Override
    public Optional<NetNamespace> netns() {
      return netns;
    }

    @Override
    public ExecutorService workers() {
      return workers;
    }

    @Override
    public EventLoopGroup runtimeApiLoop() {
      return runtimeApiLoop;
    }

    @Override
    public ScheduledExecutorService scheduler() {
      return scheduler;
    }

    @Override
    public ThreadFactory threadFactory() {
      return threads;
    }

    @Override
    public void publishLog(
        String instanceId,
        String imageId,
        InstanceSettings settings,
        String requestId,
        int fd,
        byte[] line) {
      LogLine l =
          logs.append(instanceId, imageId, settings, requestId, fd, line, config.clock().millis());
      for (Consumer<LogLine> listener : logListeners) {
        try {
          listener.accept(l);
        } catch (RuntimeException e) {
          log.warn("log listener failed: {}", e.toString());
        }
      }
    }
  }
}
