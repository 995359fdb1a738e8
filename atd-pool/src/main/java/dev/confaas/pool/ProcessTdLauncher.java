package dev.confaas.pool;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentProgram;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

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
 * <p>Who stops TDs, and when: {@link #close()}, called by the owner in its ordered shutdown (after
 * the gateway drained its in-flight calls, never in parallel with that). The launcher registers no
 * shutdown hook of its own, which would race the owner's drain and kill TDs mid-call. Its safety
 * net for a JVM that exits without {@code close()} (killed, or an owner that forgot) comes after
 * everything else by construction: each agent watches its stdin, a pipe from this JVM, and exits
 * when the JVM is gone. Agents run in a session of their own ({@code setsid}, where present), so a
 * Ctrl-C at the terminal, which signals the whole foreground process group, reaches only the owner,
 * which then drains and stops them in order.
 *
 * <p>At construction, directories of TDs of earlier runs beyond the newest {@value #KEPT_TD_DIRS}
 * are deleted (their logs are for debugging recent trouble, not an archive); a directory whose
 * agent still runs ({@code agent.pid}) is never touched.
 *
 * <p>Attest what it boots with {@link #attestor()}.
 */
public final class ProcessTdLauncher implements TdLauncher {
  /** The default of {@link Config#bootTimeout}. */
  public static final Duration DEFAULT_BOOT_TIMEOUT = Duration.ofSeconds(120);
  private static final Pattern TD_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  /** Directories of stopped TDs (with their {@code agent.log}) kept across restarts. */
  static final int KEPT_TD_DIRS = 16;
  private static final Path SETSID = Path.of("/usr/bin/setsid");

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
   * @param clock for the PKI, collateral and certificates
   */
  public record Config(
      Path poolDir,
      Path pkiDir,
      List<Path> classPath,
      List<String> jvmOptions,
      Duration bootTimeout,
      Duration stopGrace,
      Clock clock) {
    public Config {
      Objects.requireNonNull(poolDir, "poolDir");
      Objects.requireNonNull(pkiDir, "pkiDir");
      classPath = List.copyOf(classPath);
      jvmOptions = List.copyOf(jvmOptions);
      if (classPath.isEmpty()) {
        throw new IllegalArgumentException(
            "classPath is empty; the agent JVM needs function-runtime on it");
      }
    }

    /**
     * This JVM's class path, a small heap and quick start-up, 120 s to boot (a JVM starting on a
     * loaded machine is slow, not broken), 5 s to stop.
     */
    public static Config defaults(Path poolDir) {
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
          DEFAULT_BOOT_TIMEOUT,
          Duration.ofSeconds(5),
          Clock.systemUTC());
    }

    public Config withClassPath(List<Path> v) {
      return new Config(poolDir, pkiDir, v, jvmOptions, bootTimeout, stopGrace, clock);
    }

    public Config withClock(Clock v) {
      return new Config(poolDir, pkiDir, classPath, jvmOptions, bootTimeout, stopGrace, v);
    }

    public Config withBootTimeout(Duration v) {
      return new Config(poolDir, pkiDir, classPath, jvmOptions, v, stopGrace, clock);
    }
  }

  private final Config config;
  private final SimulatedPki pki;
  private final TlsIdentity host;
  private final byte[] mrTd;
  private final Set<ProcessTd> running = ConcurrentHashMap.newKeySet();
  /** Why no TD can boot from the configured class path; null when the agent is on it. */
  private final String agentMissing;
  private volatile boolean closed;

  public ProcessTdLauncher(Config config) {
    this.config = config;
    this.agentMissing = agentMissingFrom(config.classPath());
    try {
      Files.createDirectories(config.poolDir());
      this.pki = SimulatedPki.loadOrCreate(config.pkiDir(), config.clock());
      this.host = TlsIdentity.generate("confaas-host", config.clock());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare pool directory " + config.poolDir(), e);
    }
    // The reference value, computed as the agent's simulator will: over the artifacts we launch.
    this.mrTd = new SimulatedTdxModule(pki, AgentArtifacts.digests(config.classPath())).mrTd();
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

  /** The MRTD every TD of this launcher must report. */
  public byte[] expectedMrTd() {
    return mrTd.clone();
  }

  /**
   * Reference values for this launcher's TDs: MRTD over the agent's artifacts, RTMR0..2 as the
   * simulator leaves them (never extended: 48 zero bytes), no debug, TCB UpToDate.
   */
  public ReferenceValues referenceValues() {
    return ReferenceValues.builder()
        .allowMrTd(mrTd)
        .allowRtmr(0, new byte[48])
        .allowRtmr(1, new byte[48])
        .allowRtmr(2, new byte[48])
        .build();
  }

  /** The dev collateral of the pool's simulated PKI, issued now, valid for a day. */
  public Collateral collateral() {
    return pki.collateral(config.clock(), Duration.ofDays(1));
  }

  /**
   * An attestor for this launcher's TDs: trusts the pool's simulated dev root (and nothing else
   * simulated), appraises against {@link #referenceValues()}, and authenticates as this pool's
   * host.
   */
  public QuoteTdAttestor attestor() {
    return new QuoteTdAttestor(
        QuoteVerifier.trusting(pki.rootCertificate(), config.clock()),
        this::collateral,
        referenceValues(),
        host,
        config.clock());
  }

  /** The host's TLS identity, the only client this launcher's agents accept. */
  public TlsIdentity hostIdentity() {
    return host;
  }

  @Override
  public LaunchedTd launch(String tdId) throws TdLaunchException {
    if (closed) {
      throw new TdLaunchException("this launcher is closed; create a new one");
    }
    if (agentMissing != null) {
      throw new TdLaunchException(agentMissing);
    }
    if (!TD_ID.matcher(tdId).matches()) {
      throw new TdLaunchException(
          "TD id \""
              + tdId
              + "\" must be 1 to 64 letters, digits, '.', '_' or '-', starting with a"
              + " letter or digit (it names the TD's directory)");
    }
    Path dir = config.poolDir().resolve(tdId);
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new TdLaunchException(
          "TD directory " + dir + " already exists; TD ids must be unique within a pool directory");
    } catch (IOException e) {
      throw new TdLaunchException("cannot create TD directory " + dir + ": " + e.getMessage(), e);
    }
    // Each TD gets the host certificate in its own directory: launchers sharing a pool directory
    // have different host keys.
    Path hostCertFile = dir.resolve("host-cert.pem");
    host.writeCertificatePem(hostCertFile);
    Path portFile = dir.resolve("agent.port");
    Path logFile = dir.resolve("agent.log");
    List<String> cmd = new ArrayList<>();
    if (Files.isExecutable(SETSID)) {
      cmd.add(SETSID.toString()); // not the caller's process group: see the class comment
    }
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
    ProcessTd td = new ProcessTd(tdId, process, dir, config.stopGrace(), running::remove);
    running.add(td);
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

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }

  private void stopAll() {
    for (ProcessTd td : List.copyOf(running)) {
      td.close();
    }
  }

  /** Stops every TD still running; idempotent, and later launches fail. */
  @Override
  public void close() {
    closed = true;
    stopAll();
  }
}
