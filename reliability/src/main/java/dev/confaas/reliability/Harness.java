package dev.confaas.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the scenarios share: the repository root (for the built CLI), the run's scratch directory,
 * the data directory every {@code confaas up} of the run uses, the platform running now, and the
 * CLI for deploys (as a function author runs it: its own JVM, its own key directory).
 */
final class Harness {
  /** How long a start of {@code confaas up} may take until ready; a busy 2-core machine is slow. */
  static final Duration READY_WITHIN = Duration.ofMinutes(5);

  final Path root;
  final Path work;
  final Path dataDir;
  final Path authorDir;
  final GatewayCalls http = new GatewayCalls();
  private final List<String> starts = new ArrayList<>();
  UpProcess up;

  Harness(Path root, Path work) throws IOException {
    this.root = root;
    this.work = work;
    this.dataDir = work.resolve("data");
    this.authorDir = work.resolve("author");
    Files.createDirectories(dataDir);
    Files.createDirectories(authorDir);
    Files.createDirectories(work.resolve("functions"));
    for (String f : List.of("cli/target/confaas-cli.jar", "cli/target/lib")) {
      if (!Files.exists(root.resolve(f))) {
        throw new IllegalStateException(root.resolve(f) + " is missing: build the CLI first"
            + " (mvn -B -o -DskipTests -pl cli -am package), or run the reliability profile"
            + " with -am");
      }
    }
  }

  /** Starts {@code confaas up} on the run's data directory; {@code why} goes into the report. */
  UpProcess startUp(String why) throws IOException, InterruptedException {
    int n = starts.size() + 1;
    Path log = work.resolve("up-" + n + ".log");
    log("starting confaas up #" + n + " (" + why + "), output in " + log);
    up = UpProcess.start(root, dataDir, log, READY_WITHIN, http);
    starts.add("#" + n + " " + why + ": PID " + up.pid + ", ready in " + seconds(up.startup)
        + " s, gateway " + up.url + ", open-file limit " + up.openFileLimit());
    log("confaas up #" + n + " ready in " + seconds(up.startup) + " s at " + up.url);
    return up;
  }

  /** Each start of the run, in order. */
  List<String> starts() {
    return List.copyOf(starts);
  }

  /** Makes sure a platform serves: starts one when the last died. */
  UpProcess ensureUp(String scenario) throws IOException, InterruptedException {
    if (up == null || !up.alive()) {
      startUp(up == null ? "first start" : "the platform was not running before " + scenario);
    }
    return up;
  }

  /**
   * Deploys a shell function with {@code confaas deploy --runtime shell} (build, sign, upload).
   *
   * @param script the handler: the event on stdin, the response on stdout
   * @throws IllegalStateException when the CLI fails; the message holds its output
   */
  void deployShell(String name, String script, String... options)
      throws IOException, InterruptedException {
    Path handler = work.resolve("functions").resolve(name + ".sh");
    Files.writeString(handler, script, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    List<String> args = new ArrayList<>(List.of(
        "deploy", "--name", name, "--runtime", "shell", "--handler", handler.toString(),
        "--url", up.url.toString(), "--token", up.token, "--data-dir", authorDir.toString()));
    args.addAll(List.of(options));
    CliRun r = cli(Duration.ofMinutes(3), args);
    if (r.code() != 0) {
      throw new IllegalStateException("confaas deploy " + name + " failed (" + r.code() + "): "
          + r.out() + r.err());
    }
  }

  /** One run of the built CLI in its own JVM. */
  record CliRun(int code, String out, String err, Duration took) {}

  CliRun cli(Duration timeout, List<String> args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        UpProcess.java(), "-cp", UpProcess.cliClassPath(root), "dev.confaas.cli.Main"));
    cmd.addAll(args);
    Path out = Files.createTempFile(work, "cli-", ".out");
    Path err = Files.createTempFile(work, "cli-", ".err");
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
        .start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      return new CliRun(-1, Files.readString(out), Files.readString(err)
          + "\n(harness: still running after " + timeout + ", killed)",
          Duration.ofNanos(System.nanoTime() - t0));
    }
    return new CliRun(p.exitValue(), Files.readString(out), Files.readString(err),
        Duration.ofNanos(System.nanoTime() - t0));
  }

  static String seconds(Duration d) {
    return String.format("%.1f", d.toMillis() / 1000.0);
  }

  static double secondsSince(long nanoTime) {
    return Math.round((System.nanoTime() - nanoTime) / 1e7) / 100.0;
  }

  static void log(String line) {
    System.err.println("[reliability " + Instant.now() + "] " + line);
  }
}
