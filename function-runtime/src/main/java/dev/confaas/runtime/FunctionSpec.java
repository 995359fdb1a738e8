package dev.confaas.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything the agent needs to start instances of one function: where its files are and the
 * manifest fields that govern its processes (ACON doc/Image.md: {@code entrypoint}, {@code env},
 * {@code workingDir}, {@code logFDs}, {@code writableFS}, {@code noRestart}, {@code signals},
 * {@code maxInstances}) plus the Lambda settings shown to the function.
 *
 * <p>Built from a prepared directory ({@link PreparedFunctions}) or by {@link AconImageLoader}
 * from a verified manifest and its unpacked layers.
 *
 * @param imageId key instances are grouped under (the image ID once images are loaded)
 * @param root the function's files: a whole root filesystem or a Lambda-style task directory
 * @param layout which of the two {@code root} is
 * @param entrypoint program and arguments, as seen inside the instance
 * @param workingDir directory the entrypoint starts in, as seen inside the instance
 * @param envRules the manifest's {@code env} rules
 * @param name {@code AWS_LAMBDA_FUNCTION_NAME} unless a Start names another ({@link InstanceSettings})
 * @param version {@code AWS_LAMBDA_FUNCTION_VERSION}, likewise
 * @param handler {@code _HANDLER}
 * @param memoryMb {@code AWS_LAMBDA_FUNCTION_MEMORY_SIZE} and memory limit, likewise
 * @param maxInstances most instances at once; 0 = no limit (ACON semantics)
 * @param network whether instances get the TD's network; otherwise only loopback to the agent
 * @param logFds descriptors (1 = stdout, 2 = stderr) whose output may leave the TD
 * @param writableFs whether the instance may write to its own tree (never to the shared image)
 * @param initTimeout how long a new instance has to call {@code invocation/next} for the first time
 * @param signals signals the host may send with Kill (ACON semantics; negative = process group)
 * @param noRestart ACON's "forbid a restart"; the agent never restarts an instance anyway (the
 *     host owns instance lifecycle), so it has nothing further to forbid here
 * @param layers for a {@link RootLayout#FULL_ROOTFS} merged from image layers: the unpacked layer
 *     directories, bottom first as the manifest lists them (the last is on top, as ACON stacks
 *     them); empty when {@code root} alone is the root filesystem. Each is shared read-only by
 *     every instance; each instance gets an overlay of all of them plus its own upper layer.
 */
record FunctionSpec(
    String imageId,
    Path root,
    RootLayout layout,
    List<String> entrypoint,
    String workingDir,
    EnvRules envRules,
    String name,
    String version,
    String handler,
    int memoryMb,
    int maxInstances,
    boolean network,
    Set<Integer> logFds,
    boolean writableFs,
    Duration initTimeout,
    List<Integer> signals,
    boolean noRestart,
    List<Path> layers) {

  /** Lambda's init limit: the default of {@link #initTimeout}. */
  static final Duration DEFAULT_INIT_TIMEOUT = Duration.ofSeconds(10);

  /** What a function's root directory holds. */
  public enum RootLayout {
    /**
     * A complete root filesystem (the merged image layers): the instance is chrooted into an
     * overlay of it, so it sees nothing of the TD's own files.
     */
    FULL_ROOTFS,
    /**
     * Only the function's own files, as in a Lambda deployment package: mounted read-only at
     * {@code /var/task} over a read-only view of the agent's {@code /usr}, {@code /bin}, {@code
     * /lib*} and {@code /etc}, which provide the interpreter.
     */
    TASK_DIRECTORY;

    /** A directory with {@code bin/} or {@code usr/bin/} is taken as a full root filesystem. */
    public static RootLayout detect(Path root) {
      return Files.isDirectory(root.resolve("bin")) || Files.isDirectory(root.resolve("usr/bin"))
          ? FULL_ROOTFS
          : TASK_DIRECTORY;
    }
  }

  /** Where a task directory appears inside an instance, as in Lambda. */
  public static final String TASK_ROOT = "/var/task";

  public FunctionSpec {
    Objects.requireNonNull(imageId, "imageId");
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(layout, "layout");
    entrypoint = List.copyOf(entrypoint);
    if (entrypoint.isEmpty() || !entrypoint.get(0).startsWith("/")) {
      throw new IllegalArgumentException(
          "entrypoint " + entrypoint + " must start with an absolute path inside the instance");
    }
    if (!workingDir.startsWith("/")) {
      throw new IllegalArgumentException("workingDir \"" + workingDir + "\" must be absolute");
    }
    Objects.requireNonNull(envRules, "envRules");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(handler, "handler");
    if (memoryMb < 1) {
      throw new IllegalArgumentException("memoryMb " + memoryMb + " must be at least 1");
    }
    if (maxInstances < 0) {
      throw new IllegalArgumentException("maxInstances " + maxInstances + " must be 0 (no limit) or more");
    }
    logFds = Set.copyOf(logFds);
    for (int fd : logFds) {
      if (fd != 1 && fd != 2) {
        throw new IllegalArgumentException(
            "logFDs entry " + fd + " is not supported; the agent captures 1 (stdout) and 2 (stderr)");
      }
    }
    if (initTimeout.isNegative() || initTimeout.isZero()) {
      throw new IllegalArgumentException("initTimeout must be positive");
    }
    signals = List.copyOf(signals);
    layers = List.copyOf(layers);
    if (!layers.isEmpty() && layout != RootLayout.FULL_ROOTFS) {
      throw new IllegalArgumentException("layers are only used for a FULL_ROOTFS layout");
    }
    for (Path layer : layers) {
      if (layer.toString().contains(":") || layer.toString().contains(",")) {
        throw new IllegalArgumentException(
            "layer directory " + layer + " contains ':' or ',', which overlayfs options cannot carry");
      }
    }
  }

  /** Starts a spec for a prepared directory, with the layout detected and Lambda's defaults. */
  public static Builder builder(String imageId, Path root, List<String> entrypoint) {
    return new Builder(imageId, root, entrypoint);
  }

  /** Returns a copy whose instances may keep at most {@code n} instances (0 = no limit). */
  public FunctionSpec withMaxInstances(int n) {
    return new FunctionSpec(imageId, root, layout, entrypoint, workingDir, envRules, name, version,
        handler, memoryMb, n, network, logFds, writableFs, initTimeout, signals, noRestart, layers);
  }

  /** Builder with the defaults of a fresh Lambda function and an ACON manifest. */
  public static final class Builder {
    private final String imageId;
    private final Path root;
    private final List<String> entrypoint;
    private RootLayout layout;
    private String workingDir;
    private EnvRules envRules = EnvRules.none();
    private String name = "function";
    private String version = "$LATEST";
    private String handler = "";
    private int memoryMb = 128;
    private int maxInstances = 1;
    private boolean network;
    private Set<Integer> logFds = Set.of();
    private boolean writableFs;
    private Duration initTimeout = DEFAULT_INIT_TIMEOUT;
    private List<Integer> signals = List.of();
    private boolean noRestart;
    private List<Path> layers = List.of();

    private Builder(String imageId, Path root, List<String> entrypoint) {
      this.imageId = imageId;
      this.root = root;
      this.entrypoint = entrypoint;
      this.layout = RootLayout.detect(root);
    }

    public Builder layout(RootLayout v) { layout = v; return this; }
    public Builder workingDir(String v) { workingDir = v; return this; }
    public Builder envRules(EnvRules v) { envRules = v; return this; }
    public Builder name(String v) { name = v; return this; }
    public Builder version(String v) { version = v; return this; }
    public Builder handler(String v) { handler = v; return this; }
    public Builder memoryMb(int v) { memoryMb = v; return this; }
    public Builder maxInstances(int v) { maxInstances = v; return this; }
    public Builder network(boolean v) { network = v; return this; }
    public Builder logFds(Set<Integer> v) { logFds = v; return this; }
    public Builder writableFs(boolean v) { writableFs = v; return this; }
    public Builder initTimeout(Duration v) { initTimeout = v; return this; }
    public Builder signals(List<Integer> v) { signals = v; return this; }
    public Builder noRestart(boolean v) { noRestart = v; return this; }
    /** The image's unpacked layers, bottom first; {@code root} should be the top one. */
    public Builder layers(List<Path> v) { layers = v; return this; }

    public FunctionSpec build() {
      String wd = workingDir != null ? workingDir : layout == RootLayout.TASK_DIRECTORY ? TASK_ROOT : "/";
      return new FunctionSpec(imageId, root, layout, entrypoint, wd, envRules, name, version,
          handler, memoryMb, maxInstances, network, logFds, writableFs, initTimeout, signals,
          noRestart, layers);
    }
  }
}
