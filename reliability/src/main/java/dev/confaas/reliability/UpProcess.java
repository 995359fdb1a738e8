package dev.confaas.reliability;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One {@code confaas up} run as an operator runs it: the built CLI ({@code
 * cli/target/confaas-cli.jar} with {@code cli/target/lib/*}) in its own JVM, in a session of its
 * own ({@code setsid}, as a terminal starts it, so signals meant for the harness do not reach it),
 * free ports ({@code --port 0 --kafka-port 0}), its output in a log file. Its gateway URL and Kafka
 * address are read from what it prints, the management token from {@code DATA/admin.token}, as a
 * user would.
 */
final class UpProcess {
  private static final Pattern GATEWAY = Pattern.compile("(?m)^\\s+gateway:\\s+(\\S+)");
  private static final Pattern KAFKA = Pattern.compile("(?m)^\\s+kafka:\\s+(\\S+)");

  final Process process;
  final long pid;
  final Path log;
  final Path dataDir;
  URI url;
  String kafkaBootstrap;
  String token;
  Duration startup;

  private UpProcess(Process process, Path log, Path dataDir) {
    this.process = process;
    this.pid = process.pid();
    this.log = log;
    this.dataDir = dataDir;
  }

  /** The command line of {@code confaas up} on {@code dataDir} from the built CLI. */
  static List<String> command(Path root, Path dataDir) {
    return new ArrayList<>(List.of(
        "setsid", java(), "-cp", cliClassPath(root), "dev.confaas.cli.Main",
        "up", "--data-dir", dataDir.toString(), "--port", "0", "--kafka-port", "0"));
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static String cliClassPath(Path root) {
    return root.resolve("cli/target/confaas-cli.jar") + ":" + root.resolve("cli/target/lib") + "/*";
  }

  /**
   * Starts {@code confaas up} and waits until it says it is ready (an attested TD in the warm pool)
   * or its {@code /readyz} answers 200.
   *
   * @throws IllegalStateException when it exits or is not ready within {@code readyWithin}; the
   *     message holds the end of its output
   */
  static UpProcess start(Path root, Path dataDir, Path log, Duration readyWithin, GatewayCalls http)
      throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder(command(root, dataDir))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.PIPE);
    UpProcess up = new UpProcess(pb.start(), log, dataDir);
    String cmdline = Files.readString(Path.of("/proc/" + up.pid + "/cmdline"))
        .replace('\0', ' ');
    if (!cmdline.contains("dev.confaas.cli.Main")) {
      // setsid forks only when started as a process-group leader, which a child of this JVM is not.
      Harness.log("warning: PID " + up.pid + " is not the platform's JVM: " + cmdline);
    }
    long deadline = t0 + readyWithin.toNanos();
    while (true) {
      String out = up.output();
      if (up.url == null) {
        Matcher g = GATEWAY.matcher(out);
        Matcher k = KAFKA.matcher(out);
        if (g.find() && k.find()) {
          up.url = URI.create(g.group(1));
          up.kafkaBootstrap = k.group(1);
          up.token = Files.readString(dataDir.resolve("admin.token"), StandardCharsets.UTF_8)
              .strip();
        }
      }
      if (up.url != null && (out.contains("confaas up: ready") || http.ready(up.url))) {
        break;
      }
      if (!up.process.isAlive()) {
        throw new IllegalStateException("confaas up exited with " + up.process.exitValue()
            + " before it was ready:\n" + tail(out, 40));
      }
      if (System.nanoTime() > deadline) {
        up.kill9();
        throw new IllegalStateException("confaas up was not ready within " + readyWithin
            + ":\n" + tail(out, 40));
      }
      Thread.sleep(250);
    }
    up.startup = Duration.ofNanos(System.nanoTime() - t0);
    return up;
  }

  String output() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** Lines of output so far, to count only what a scenario caused. */
  int lineCount() {
    return output().split("\n", -1).length - 1;
  }

  /** The lines printed since {@code fromLine} that contain {@code needle}. */
  List<String> linesSince(int fromLine, String needle) {
    String[] lines = output().split("\n", -1);
    List<String> out = new ArrayList<>();
    for (int i = Math.max(0, fromLine); i < lines.length; i++) {
      if (lines[i].contains(needle)) {
        out.add(lines[i]);
      }
    }
    return out;
  }

  /**
   * The platform's log since {@code fromLine}: how many lines are at WARN and at ERROR level
   * (simplelogger's {@code HH:mm:ss [thread] LEVEL logger - message}) and how many are stack-trace
   * lines, plus the first {@code keep} WARN/ERROR lines themselves (each cut at 300 characters).
   */
  Map<String, Object> logSince(int fromLine, int keep) {
    String[] lines = output().split("\n", -1);
    int warn = 0;
    int error = 0;
    int stack = 0;
    List<String> first = new ArrayList<>();
    for (int i = Math.max(0, fromLine); i < lines.length; i++) {
      String l = lines[i];
      boolean w = l.contains("] WARN ");
      boolean e = l.contains("] ERROR ");
      warn += w ? 1 : 0;
      error += e ? 1 : 0;
      stack += l.startsWith("\tat ") ? 1 : 0;
      if ((w || e) && first.size() < keep) {
        first.add(l.length() > 300 ? l.substring(0, 300) + "..." : l);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("warn", warn);
    out.put("error", error);
    out.put("stackTraceLines", stack);
    out.put("firstWarningsAndErrors", first);
    return out;
  }

  boolean alive() {
    return process.isAlive();
  }

  /** SIGKILL to the platform's JVM (its TDs are separate processes and see their stdin close). */
  void kill9() {
    process.destroyForcibly();
  }

  /** {@code kill -SIGNAL -- -PID}: to the platform's process group, as Ctrl-C or a shell would. */
  void signalGroup(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + pid)
        .redirectErrorStream(true).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IOException("kill -" + signal + " -- -" + pid + " failed: "
          + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  boolean waitExit(Duration within) throws InterruptedException {
    return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The platform JVM's open-file limit, {@code SOFT HARD}. */
  String openFileLimit() {
    return IdleConnectionHolder.openFileLimit(Path.of("/proc/" + pid + "/limits"));
  }

  /** File descriptors the platform's JVM holds now, or -1 when it cannot be read. */
  long openFiles() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.count();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** PIDs of the TD agents this data directory's pool started (from {@code pool/*\/agent.pid}). */
  List<Long> agentPids() {
    List<Long> pids = new ArrayList<>();
    Path pool = dataDir.resolve("pool");
    if (!Files.isDirectory(pool)) {
      return pids;
    }
    try (Stream<Path> dirs = Files.list(pool)) {
      for (Path d : dirs.toList()) {
        Path pid = d.resolve("agent.pid");
        if (Files.isRegularFile(pid)) {
          try {
            pids.add(Long.parseLong(Files.readString(pid).strip()));
          } catch (NumberFormatException | IOException e) {
            // a TD directory being written; skip it
          }
        }
      }
    } catch (IOException e) {
      // none readable
    }
    return pids;
  }

  /** Of {@code pids}, those still running. */
  static List<Long> alive(List<Long> pids) {
    return pids.stream()
        .filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false))
        .toList();
  }

  static String tail(String text, int lines) {
    String[] l = text.split("\n");
    return String.join("\n", Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
  }
}
