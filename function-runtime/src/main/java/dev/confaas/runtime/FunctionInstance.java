package dev.confaas.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running function process and its Runtime API endpoint: at most one invocation at a time
 * (Lambda semantics), its deadline enforced by killing the process.
 *
 * <p>Locking: the instance never calls its {@link Owner} while holding its own lock, and the owner
 * may call into the instance while holding its own; so the order is always pool, then instance.
 */
final class FunctionInstance implements LambdaRuntimeApi.Listener {
  private static final Logger log = LoggerFactory.getLogger(FunctionInstance.class);
  private static final int MAX_LOG_LINE = 16 * 1024;

  /** The pool the instance belongs to. */
  interface Owner {
    /** The instance can take an invocation. */
    void becameIdle(FunctionInstance instance);

    /**
     * The process ended; the instance is gone for good (the agent never restarts one: the host
     * owns instance lifecycle). Called before the invocation it was running is answered.
     *
     * @param initFailure set when it ended before asking for its first event
     */
    void exited(FunctionInstance instance, FunctionFailure initFailure);
  }

  private enum Cause { NONE, TIMEOUT, INIT_TIMEOUT, STOPPED }

  private record InFlight(
      Invocation invocation,
      CompletableFuture<InstanceOutcome> result,
      Instant started,
      ScheduledFuture<?> deadline) {}

  /** {@code AWS_REGION} and {@code AWS_DEFAULT_REGION}: one fixed name for a ConFaaS node. */
  static final String REGION = "confaas-local";
  /** {@code LAMBDA_RUNTIME_DIR}, as in Lambda; nothing is mounted there by the agent. */
  static final String RUNTIME_DIR = "/var/runtime";
  private static final java.time.format.DateTimeFormatter STREAM_DATE =
      java.time.format.DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(java.time.ZoneOffset.UTC);

  final String id;
  final FunctionSpec spec;
  final InstanceSettings settings;
  private final Map<String, String> resolvedEnv;
  private final SupervisorContext ctx;
  private final Owner owner;

  private final Object lock = new Object();
  private InstanceStatus.State state = InstanceStatus.State.STARTING;
  private Process process;
  private LambdaRuntimeApi api;
  private Path dir;
  private MemoryLimit.Instance memory;
  private InFlight current;
  private long invocations;
  private int exitStatus = -1;
  private Cause cause = Cause.NONE;
  private FunctionFailure initError;
  private ScheduledFuture<?> initTimer;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  // Output between two events belongs to the earlier one; before the first it is init output.
  private volatile String lastRequestId = "";

  FunctionInstance(
      String id,
      FunctionSpec spec,
      InstanceSettings settings,
      List<String> callerEnv,
      SupervisorContext ctx,
      Owner owner) {
    this.id = id;
    this.spec = spec;
    this.settings = settings;
    this.resolvedEnv = spec.envRules().resolve(callerEnv); // refuses a bad env before any process
    this.ctx = ctx;
    this.owner = owner;
  }

  /** Starts the process; blocking (filesystem, fork), so called on a worker. */
  void launch() {
    boolean stoppedBeforeLaunch;
    synchronized (lock) {
      stoppedBeforeLaunch = cause == Cause.STOPPED;
    }
    if (stoppedBeforeLaunch) {
      processExited();
      return;
    }
    try {
      if (!Files.isDirectory(spec.root())) {
        throw new IOException("the function's root " + spec.root() + " is not a directory");
      }
      dir = Files.createDirectories(ctx.stateDir().resolve(id));
      memory = ctx.isolation().memory().forInstance(id, settings.memoryMb());
      announceMemoryLimit();
      boolean ownNetwork = ctx.netns().isPresent() && ctx.isolation().namespaces() && !spec.network();
      LambdaRuntimeApi endpoint;
      Process p;
      if (ownNetwork) {
        LambdaRuntimeApi[] holder = new LambdaRuntimeApi[1];
        p =
            ctx.netns()
                .get()
                .run(
                    () -> {
                      holder[0] = bindEndpoint(InstanceLauncher.NAMESPACED_API_PORT);
                      return startProcess(holder[0].port());
                    });
        endpoint = holder[0];
      } else {
        endpoint = bindEndpoint(0);
        p = startProcess(endpoint.port());
      }
      boolean stopMeanwhile;
      synchronized (lock) {
        api = endpoint;
        process = p;
        stopMeanwhile = cause == Cause.STOPPED;
      }
      if (stopMeanwhile) {
        killTree(); // stop() ran while the process was being started
      }
      endpoint.start(); // after returning to the agent's namespace: see NetNamespace
      pump(p.getInputStream(), 1);
      pump(p.getErrorStream(), 2);
      synchronized (lock) {
        if (state == InstanceStatus.State.STARTING) {
          initTimer =
              ctx.scheduler()
                  .schedule(this::initTimedOut, initTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
      }
      p.onExit().thenRunAsync(this::processExited, ctx.workers());
    } catch (Exception e) {
      log.warn("instance {} of {} could not be started: {}", id, spec.imageId(), e.toString());
      Process started;
      synchronized (lock) {
        initError =
            new FunctionFailure(
                FunctionFailure.Kind.INIT_FAILED,
                "Runtime.StartFailed",
                "the agent could not start instance " + id + ": " + e.getMessage(),
                -1);
        started = process;
      }
      if (started == null) {
        processExited();
      } else {
        killTree();
        started.onExit().thenRunAsync(this::processExited, ctx.workers());
      }
    }
  }

  /**
   * Starts the instance's log with the limit that holds it, so its owner can tell from the
   * function's own logs whether its memory size is enforced, and how.
   */
  private void announceMemoryLimit() {
    String line = "confaas: instance " + id + ": " + memory.describe();
    log.info(line);
    int fd = spec.logFds().contains(2) ? 2 : spec.logFds().contains(1) ? 1 : 0;
    if (fd != 0) {
      ctx.publishLog(id, spec.imageId(), settings, "", fd, line.getBytes(StandardCharsets.UTF_8));
    }
  }

  private LambdaRuntimeApi bindEndpoint(int port) throws IOException {
    String arn = "arn:aws:lambda:" + REGION + ":000000000000:function:" + settings.name();
    return LambdaRuntimeApi.bind(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
        ctx.runtimeApiLoop(),
        ctx.clock(),
        ctx.maxResponseBytes(),
        arn,
        this);
  }

  private Process startProcess(int apiPort) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.put("LANG", "C.UTF-8");
    env.putAll(resolvedEnv);
    env.putAll(lambdaEnvironment(apiPort));
    return ctx.launcher().command(spec, id, dir, env, memory).start();
  }

  /**
   * The variables Lambda reserves for itself, as Lambda sets them
   * (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
   * {@code AWS_EXECUTION_ENV} is not among them: it names the language runtime, which only the
   * image knows, so it comes from the manifest's env (Lambda leaves it unset for OS-only runtimes).
   */
  Map<String, String> lambdaEnvironment(int apiPort) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + apiPort);
    env.put("_HANDLER", spec.handler());
    env.put("LAMBDA_TASK_ROOT", ctx.launcher().taskRoot(spec));
    env.put("LAMBDA_RUNTIME_DIR", RUNTIME_DIR);
    env.put("AWS_LAMBDA_FUNCTION_NAME", settings.name());
    env.put("AWS_LAMBDA_FUNCTION_VERSION", settings.version());
    env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(settings.memoryMb()));
    env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + settings.name());
    // Lambda: DATE/[VERSION]ENVIRONMENT-ID; the instance ID is what the agent's logs carry.
    env.put(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        STREAM_DATE.format(ctx.clock().instant()) + "/[" + settings.version() + "]" + id);
    env.put("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    env.put("AWS_REGION", REGION);
    env.put("AWS_DEFAULT_REGION", REGION);
    env.put("TZ", ":UTC");
    return env;
  }

  /** Hands an invocation to this instance if it is idle; false if it is not. */
  boolean tryInvoke(Invocation invocation, CompletableFuture<InstanceOutcome> result) {
    LambdaRuntimeApi endpoint;
    synchronized (lock) {
      if (state != InstanceStatus.State.IDLE) {
        return false;
      }
      state = InstanceStatus.State.BUSY;
      ScheduledFuture<?> deadline =
          ctx.scheduler()
              .schedule(
                  () -> deadlinePassed(invocation.requestId()),
                  invocation.timeout().toMillis(),
                  TimeUnit.MILLISECONDS);
      current = new InFlight(invocation, result, ctx.clock().instant(), deadline);
      lastRequestId = invocation.requestId();
      endpoint = api;
    }
    // Writing the event may block on a slow reader; never under a lock or on the caller's thread.
    ctx.workers().execute(() -> endpoint.deliver(invocation));
    return true;
  }

  InstanceStatus status() {
    synchronized (lock) {
      return new InstanceStatus(
          id,
          spec.imageId(),
          state,
          exitStatus,
          invocations,
          current == null ? "" : current.invocation().requestId());
    }
  }

  boolean isLive() {
    synchronized (lock) {
      return state != InstanceStatus.State.EXITED;
    }
  }

  boolean isStarting() {
    synchronized (lock) {
      return state == InstanceStatus.State.STARTING;
    }
  }

  /** Stops the instance for good (no replacement). */
  void stop() {
    synchronized (lock) {
      if (cause == Cause.NONE) {
        cause = Cause.STOPPED;
      }
    }
    killTree();
  }

  /**
   * Sends {@code signal} as the host asked: positive to the instance's first process, negative to
   * its whole process group (ACON {@code signals}).
   */
  void signal(int signal) {
    if (signal == 0) {
      return;
    }
    Process p;
    synchronized (lock) {
      p = process;
      if (signal == -9 || signal == 9) {
        cause = cause == Cause.NONE ? Cause.STOPPED : cause;
      }
    }
    if (p == null || !p.isAlive()) {
      throw new IllegalStateException("instance " + id + " is not running");
    }
    // Under unshare the entrypoint is the wrapper's only child, and a session leader (setsid).
    long target =
        ctx.isolation().namespaces()
            ? p.children().findFirst().map(ProcessHandle::pid).orElse(p.pid())
            : p.pid();
    String who = signal > 0 || !ctx.isolation().namespaces() ? Long.toString(target) : "-" + target;
    try {
      Process kill =
          new ProcessBuilder("kill", "-s", Integer.toString(Math.abs(signal)), "--", who)
              .redirectErrorStream(true)
              .start();
      kill.getOutputStream().close();
      kill.getInputStream().readAllBytes();
      kill.waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException("could not run kill(1) for instance " + id, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- Runtime API callbacks (on the endpoint's thread) ----

  @Override
  public void nextRequested() {
    boolean becameIdle = false;
    synchronized (lock) {
      if (state == InstanceStatus.State.STARTING) {
        state = InstanceStatus.State.IDLE;
        if (initTimer != null) {
          initTimer.cancel(false);
        }
        becameIdle = true;
      }
    }
    if (becameIdle) {
      owner.becameIdle(this);
    }
  }

  @Override
  public void responded(String requestId, byte[] payload) {
    finish(requestId, payload, null);
  }

  @Override
  public void failed(String requestId, String errorType, String errorMessage, String document) {
    finish(
        requestId,
        null,
        new FunctionFailure(FunctionFailure.Kind.HANDLED, errorType, errorMessage, -1, document));
  }

  @Override
  public void responseTooLarge(String requestId, long size, long limit) {
    finish(
        requestId,
        null,
        new FunctionFailure(
            FunctionFailure.Kind.RESPONSE_TOO_LARGE,
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size (" + limit + " bytes).",
            -1));
  }

  @Override
  public void initFailed(String errorType, String errorMessage, String document) {
    synchronized (lock) {
      if (state != InstanceStatus.State.STARTING) {
        return; // Lambda only accepts init/error before the first next.
      }
      initError = new FunctionFailure(
          FunctionFailure.Kind.INIT_FAILED, errorType, errorMessage, -1, document);
    }
    killTree();
  }

  private void finish(String requestId, byte[] payload, FunctionFailure failure) {
    InFlight done;
    synchronized (lock) {
      if (current == null || !current.invocation().requestId().equals(requestId)) {
        return;
      }
      done = current;
      current = null;
      done.deadline().cancel(false);
      invocations++;
      if (state == InstanceStatus.State.BUSY) {
        state = InstanceStatus.State.IDLE;
      }
    }
    done.result().complete(result(done, payload, failure));
    owner.becameIdle(this);
  }

  private InstanceOutcome result(InFlight f, byte[] payload, FunctionFailure failure) {
    return new InstanceOutcome(
        f.invocation().requestId(),
        id,
        payload,
        failure,
        Duration.between(f.started(), ctx.clock().instant()));
  }

  // ---- timers and process exit ----

  private void deadlinePassed(String requestId) {
    LambdaRuntimeApi endpoint;
    synchronized (lock) {
      if (current == null || !current.invocation().requestId().equals(requestId)) {
        return;
      }
      cause = Cause.TIMEOUT;
      endpoint = api;
    }
    endpoint.abandon();
    log.info("instance {}: request {} passed its deadline; killing the instance", id, requestId);
    killTree();
  }

  private void initTimedOut() {
    synchronized (lock) {
      if (state != InstanceStatus.State.STARTING) {
        return;
      }
      cause = Cause.INIT_TIMEOUT;
    }
    killTree();
  }

  /** Kills the instance's namespace init (which ends its PID namespace) and the wrapper. */
  private void killTree() {
    Process p;
    synchronized (lock) {
      p = process;
    }
    if (p == null) {
      return;
    }
    // unshare's --kill-child does not survive the entrypoint's setuid, so kill the tree ourselves.
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  private void processExited() {
    InFlight inFlight;
    boolean wasStarting;
    Cause why;
    FunctionFailure init;
    int status;
    LambdaRuntimeApi endpoint;
    synchronized (lock) {
      if (state == InstanceStatus.State.EXITED) {
        return;
      }
      status = process == null ? -1 : process.exitValue();
      wasStarting = state == InstanceStatus.State.STARTING;
      state = InstanceStatus.State.EXITED;
      exitStatus = status;
      inFlight = current;
      current = null;
      why = cause;
      init = initError;
      endpoint = api;
      if (initTimer != null) {
        initTimer.cancel(false);
      }
      if (inFlight != null) {
        inFlight.deadline().cancel(false);
        invocations++;
      }
    }
    if (endpoint != null) {
      endpoint.close();
    }
    killTree(); // stragglers when there was no PID namespace
    boolean outOfMemory = memory != null && memory.outOfMemory();
    cleanUp();
    log.info("instance {} of {} exited with status {}", id, spec.imageId(), status);
    FunctionFailure inFlightFailure = null;
    if (inFlight != null) {
      inFlightFailure =
          outOfMemory && why != Cause.TIMEOUT
              ? outOfMemory(
                  FunctionFailure.Kind.CRASHED,
                  "RequestId: " + inFlight.invocation().requestId()
                      + " Error: Runtime exited with error: " + describeStatus(status),
                  status)
          : why == Cause.TIMEOUT
              ? new FunctionFailure(
                  FunctionFailure.Kind.TIMED_OUT,
                  "Sandbox.Timedout",
                  String.format(
                      "Task timed out after %.2f seconds",
                      inFlight.invocation().timeout().toMillis() / 1000.0),
                  status)
              : new FunctionFailure(
                  FunctionFailure.Kind.CRASHED,
                  "Runtime.ExitError",
                  "RequestId: " + inFlight.invocation().requestId()
                      + " Error: Runtime exited with error: " + describeStatus(status),
                  status);
    }
    FunctionFailure initFailure = null;
    if (wasStarting) {
      if (outOfMemory && init == null) {
        initFailure =
            outOfMemory(
                FunctionFailure.Kind.INIT_FAILED,
                "instance " + id + " " + describeStatus(status) + " before calling invocation/next",
                status);
      } else if (init != null) {
        initFailure =
            new FunctionFailure(init.kind(), init.type(), init.message(), status, init.document());
      } else if (why == Cause.INIT_TIMEOUT) {
        initFailure =
            new FunctionFailure(
                FunctionFailure.Kind.INIT_FAILED,
                "Runtime.InitTimeout",
                "instance " + id + " did not call invocation/next within "
                    + initTimeout().toMillis() + " ms of starting",
                status);
      } else {
        initFailure =
            new FunctionFailure(
                FunctionFailure.Kind.INIT_FAILED,
                "Runtime.ExitError",
                "instance " + id + " " + describeStatus(status)
                    + " before calling invocation/next",
                status);
      }
    }
    try {
      // Leave the pool before the outcome is answered: the host may Start another instance as
      // soon as it hears, and this one's place under maxInstances must be free by then.
      owner.exited(this, initFailure);
    } finally {
      if (inFlight != null) {
        inFlight.result().complete(result(inFlight, null, inFlightFailure));
      }
      ended.complete(null);
    }
  }

  /** The failure of an instance the kernel killed for going past its memory limit. */
  private FunctionFailure outOfMemory(FunctionFailure.Kind kind, String what, int status) {
    return new FunctionFailure(
        kind,
        "Runtime.OutOfMemory",
        what + ": the instance used more than its memory size of " + settings.memoryMb()
            + " MB (memory and /tmp together; " + memory.mechanism().label()
            + "); deploy it with more memory or make it use less",
        status);
  }

  /**
   * How long the instance has to ask for its first event: the image's init timeout, or the
   * deployment's timeout when longer, as Lambda retries a slow init within the function's timeout.
   * A busy host slows every init; a fixed 10 s turned that load into INIT_FAILED (issue 11, defect 7).
   */
  private java.time.Duration initTimeout() {
    return settings.timeout().compareTo(spec.initTimeout()) > 0 ? settings.timeout() : spec.initTimeout();
  }

  /** Completes once the process has ended and the instance is cleaned up. */
  CompletableFuture<Void> ended() {
    return ended;
  }

  static String describeStatus(int status) {
    if (status == InstanceLauncher.SETUP_FAILED) {
      return "exit status 125: the agent could not build the instance's sandbox";
    }
    if (status == 126) {
      return "exit status 126: the entrypoint is not executable";
    }
    if (status == 127) {
      return "exit status 127: the entrypoint or its interpreter was not found inside the instance's root";
    }
    if (status > 128 && status <= 128 + 64) {
      return "signal " + (status - 128) + " (exit status " + status + ")";
    }
    return "exit status " + status;
  }

  private void cleanUp() {
    if (memory != null) {
      memory.remove();
    }
    if (dir != null) {
      try {
        Files.deleteIfExists(dir); // only a mount point outside the instance's namespace
      } catch (IOException e) {
        log.debug("could not remove {}: {}", dir, e.toString());
      }
    }
  }

  /** Reads one output stream to its end; only declared logFDs leave the TD. */
  private void pump(InputStream in, int fd) {
    boolean shared = spec.logFds().contains(fd);
    Thread t =
        ctx.threadFactory()
            .newThread(
                () -> {
                  byte[] buf = new byte[MAX_LOG_LINE];
                  int len = 0;
                  try (in) {
                    int b;
                    while ((b = in.read()) >= 0) {
                      if (!shared) {
                        continue;
                      }
                      if (b == '\n' || len == buf.length) {
                        ctx.publishLog(id, spec.imageId(), settings, lastRequestId, fd, Arrays.copyOf(buf, len));
                        len = 0;
                        if (b == '\n') {
                          continue;
                        }
                      }
                      buf[len++] = (byte) b;
                    }
                    if (shared && len > 0) {
                      ctx.publishLog(id, spec.imageId(), settings, lastRequestId, fd, Arrays.copyOf(buf, len));
                    }
                  } catch (IOException closed) {
                    // The process is gone.
                  }
                });
    t.setName("confaas-log-" + id + "-fd" + fd);
    t.start();
  }
}
