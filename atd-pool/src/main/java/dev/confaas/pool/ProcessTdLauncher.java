package dev.confaas.pool;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentProgram;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code process} backend: each TD is the function-runtime agent (the program {@link AgentProgram#MAIN_CLASS}) in a JVM
 * of its own, with a fresh working directory under the pool directory, the simulated TDX module
 * under the pool's dev PKI (MRTD = the agent's class path, see {@link AgentArtifacts}), and the
 * pool's host certificate, the only client the agent will serve. Its functions are the agent's
 * child processes, isolated with Linux namespaces where the host allows.
 *
 * <p>A TD's directory keeps {@code agent.log} (the agent's stdout and stderr) after the TD stops;
 * its {@code state/} (unpacked layers, instance directories) is deleted.
 *
 * <p>Boot handshake: the agent writes its port to {@code TD_DIR/agent.port} once it serves (mutual
 * TLS); {@link #launch} waits for that file. Stopping: SIGTERM (the agent stops its instances),
 * then after {@link Config#stopGrace} SIGKILL of the agent and whatever it left.
 *
 * <p>Who stops TDs, and when: {@link #close()}, called by the owner in its ordered shutdown (see
 * {@link ChildProcessLauncher}). Its safety net for a JVM that exits without {@code close()}
 * (killed, or an owner that forgot) comes after everything else by construction: each agent
 * watches its stdin, a pipe from this JVM, and exits when the JVM is gone. Agents run in a session
 * of their own ({@code setsid}, where present), so a Ctrl-C at the terminal reaches only the owner.
 *
 * <p>At construction, directories of TDs of earlier runs beyond the newest {@value #KEPT_TD_DIRS}
 * are deleted (their logs are for debugging recent trouble, not an archive); a directory whose
 * agent still runs ({@code agent.pid}) is never touched.
 *
 * <p>Attest what it boots with {@link #attestor()}.
 */
public final class ProcessTdLauncher extends ChildProcessLauncher {
  /** Directories of stopped TDs (with their {@code agent.log}) kept across restarts. */
  static final int KEPT_TD_DIRS = 16;

  /**
   * How TDs are launched.
   *
   * @param poolDir where each TD gets its working directory ({@code poolDir/<td id>}) and where the
   *     dev PKI lives ({@code poolDir/simulated-pki}) unless {@code pkiDir} says otherwise
   * @param pkiDir the simulated TDX PKI directory shared by the pool's TDs (created if empty)
   * @param classPath the agent's class path, in order (also its measured artifacts)
   * @param jvmOptions options for each agent JVM (heap, GC)
   * @param bootTimeout how long an agent has to start serving
   * @param stopGrace how long an agent has to stop after SIGTERM before it is killed
   * @param functionInitTimeout how long a function instance in the TD has to ask for its first
   *     event (the agent's {@code --init-timeout-ms})
   * @param clock for the PKI, collateral and certificates
   */
  public record Config(
      Path poolDir,
      Path pkiDir,
      List<Path> classPath,
      List<String> jvmOptions,
      Duration bootTimeout,
      Duration stopGrace,
      Duration functionInitTimeout,
      Clock clock) {
    public Config {
      Objects.requireNonNull(poolDir, "poolDir");
      Objects.requireNonNull(pkiDir, "pkiDir");
      Objects.requireNonNull(functionInitTimeout, "functionInitTimeout");
      classPath = List.copyOf(classPath);
      jvmOptions = List.copyOf(jvmOptions);
      if (classPath.isEmpty()) {
        throw new IllegalArgumentException(
            "classPath is empty; the agent JVM needs function-runtime on it");
      }
    }

    /**
     * This JVM's class path, a small heap and quick start-up, the {@code process} backend's {@link
     * TdTimeouts} (a JVM starting on a loaded machine is slow, not broken), 5 s to stop.
     */
    public static Config defaults(Path poolDir) {
      TdTimeouts t = TdTimeouts.of("process", "none");
      return new Config(
          poolDir,
          poolDir.resolve("simulated-pki"),
          AgentArtifacts.parseClassPath(System.getProperty("java.class.path")),
          List.of(
              "-Xmx96m",
              "-Xss512k",
              "-XX:+UseSerialGC",
              "-XX:TieredStopAtLevel=1",
              "-XX:-UsePerfData"),
          t.boot(),
          Duration.ofSeconds(5),
          t.functionInit(),
          Clock.systemUTC());
    }

    public Config withClassPath(List<Path> v) {
      return with(v, bootTimeout, stopGrace, functionInitTimeout, clock);
    }

    public Config withClock(Clock v) {
      return with(classPath, bootTimeout, stopGrace, functionInitTimeout, v);
    }

    public Config withBootTimeout(Duration v) {
      return with(classPath, v, stopGrace, functionInitTimeout, clock);
    }

    public Config withStopGrace(Duration v) {
      return with(classPath, bootTimeout, v, functionInitTimeout, clock);
    }

    public Config withFunctionInitTimeout(Duration v) {
      return with(classPath, bootTimeout, stopGrace, v, clock);
    }

    private Config with(
        List<Path> cp, Duration boot, Duration grace, Duration init, Clock c) {
      return new Config(poolDir, pkiDir, cp, jvmOptions, boot, grace, init, c);
    }
  }

  private final Config config;
  /** Why no TD can boot from the configured class path; null when the agent is on it. */
  private final String agentMissing;

  public ProcessTdLauncher(Config config) {
    super(
        config.poolDir(),
        Optional.of(config.pkiDir()),
        AgentArtifacts.digests(config.classPath()),
        config.clock());
    this.config = config;
    this.agentMissing = agentMissingFrom(config.classPath());
    TdDirectories.pruneEarlierRuns(config.poolDir(), KEPT_TD_DIRS);
  }

  /**
   * Looked up once, so that a launch fails at once and says why when the agent program is not on
   * the class path: its JVM would otherwise die at start and the launch wait out its boot timeout.
   */
  private static String agentMissingFrom(List<Path> classPath) {
    String entry = AgentProgram.MAIN_CLASS.replace('.', '/') + ".class";
    for (Path p : classPath) {
      if (Files.isDirectory(p)) {
        if (Files.isRegularFile(p.resolve(entry))) {
          return null;
        }
      } else if (Files.isRegularFile(p)) {
        try (java.util.zip.ZipFile jar = new java.util.zip.ZipFile(p.toFile())) {
          if (jar.getEntry(entry) != null) {
            return null;
          }
        } catch (IOException notAJar) {
          // not an archive: cannot hold the agent
        }
      }
    }
    return "the agent program "
        + AgentProgram.MAIN_CLASS
        + " is not on the class path given for process TDs ("
        + classPath.size()
        + " entries); add confaas-function-runtime and its dependencies to it";
  }

  @Override
  public String backend() {
    return "process";
  }

  @Override
  public LaunchedTd launch(String tdId) throws TdLaunchException {
    if (agentMissing != null) {
      throw new TdLaunchException(agentMissing);
    }
    Path dir = newTdDirectory(tdId);
    Path hostCertFile = dir.resolve(TdDirectories.MARKER);
    Path portFile = dir.resolve("agent.port");
    Path logFile = dir.resolve("agent.log");
    List<String> cmd = new ArrayList<>(ownSession());
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(config.jvmOptions());
    cmd.add("-cp");
    cmd.add(
        String.join(
            java.io.File.pathSeparator, config.classPath().stream().map(Path::toString).toList()));
    cmd.add(AgentProgram.MAIN_CLASS);
    cmd.addAll(
        List.of(
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            dir.resolve("state").toString(),
            "--tdx-simulated",
            config.pkiDir().toString(),
            "--host-cert",
            hostCertFile.toString(),
            "--port-file",
            portFile.toString(),
            "--td-id",
            tdId,
            "--init-timeout-ms",
            Long.toString(config.functionInitTimeout().toMillis()),
            "--exit-with-stdin"));
    Process process;
    try {
      process =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      throw new TdLaunchException(
          "cannot start the agent JVM (" + String.join(" ", cmd.subList(0, 2)) + "): "
              + e.getMessage(), e);
    }
    TdDirectories.recordPid(dir, process.pid());
    ProcessTd td = new ProcessTd(this, tdId, process, dir, config.stopGrace());
    // Elapsed time of a real child process, not domain time: a pinned test clock must not stop it.
    long deadline = System.nanoTime() + config.bootTimeout().toNanos();
    try {
      while (!Files.exists(portFile)) {
        if (!process.isAlive()) {
          throw new TdLaunchException(
              "TD "
                  + tdId
                  + ": the agent exited with status "
                  + process.exitValue()
                  + " before serving; its log "
                  + logFile
                  + " ends with: "
                  + tail(logFile));
        }
        if (System.nanoTime() > deadline) {
          throw new TdLaunchException(
              "TD "
                  + tdId
                  + ": the agent did not serve within "
                  + config.bootTimeout()
                  + "; its log "
                  + logFile
                  + " ends with: "
                  + tail(logFile));
        }
        Thread.sleep(10);
      }
      int port = Integer.parseInt(Files.readString(portFile).trim());
      td.serving("127.0.0.1:" + port);
      return td;
    } catch (TdLaunchException e) {
      td.close();
      throw e;
    } catch (InterruptedException e) {
      td.close();
      Thread.currentThread().interrupt();
      throw new TdLaunchException("interrupted while TD " + tdId + " was booting", e);
    } catch (IOException | NumberFormatException e) {
      td.close();
      throw new TdLaunchException(
          "TD " + tdId + ": unreadable port file " + portFile + ": " + e.getMessage(), e);
    }
  }
}
