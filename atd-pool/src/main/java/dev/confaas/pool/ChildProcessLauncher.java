package dev.confaas.pool;

import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * What the backends whose TDs are child processes of this JVM share — the {@code process}
 * backend's agent JVMs and the {@code qemu} backends' QEMUs: the host's TLS identity (the one
 * client the agents accept), for agents that attest with the simulated TDX module the pool's dev
 * PKI and the reference values and attestor that go with it, a directory per TD under the pool
 * directory, the record of the TDs still running, and ({@link Td}) how such a TD is stopped.
 *
 * <p>Who stops TDs, and when: {@link #close()}, called by the owner in its ordered shutdown (after
 * the gateway drained its in-flight calls). No launcher registers a shutdown hook, which would race
 * the owner's drain and kill TDs mid-call; each TD's process runs in a session of its own ({@link
 * #ownSession()}) so that a Ctrl-C at the terminal reaches only the owner, and watches a pipe from
 * this JVM, so that none outlives it.
 */
abstract class ChildProcessLauncher implements TdLauncher {
  private static final Pattern TD_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private final Path poolDir;
  private final Clock clock;
  private final TlsIdentity host;
  /** The dev PKI of agents with the simulated TDX module; null when they attest with real TDX. */
  private final SimulatedPki pki;
  /** The MRTD the simulated TDX module reports, over the agent's artifacts; null likewise. */
  private final byte[] mrTd;
  private final Set<Td> running = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * @param poolDir where each TD gets its directory (created if missing)
   * @param simulatedPkiDir the dev PKI directory (created if empty) for agents that attest with the
   *     simulated TDX module; empty when they attest with the TD's own TDX module
   * @param agentArtifacts SHA-384 of each of the agent's class path entries as the TD runs them:
   *     what the simulated module measures into MRTD (unused without it)
   */
  ChildProcessLauncher(
      Path poolDir, Optional<Path> simulatedPkiDir, byte[][] agentArtifacts, Clock clock) {
    this.poolDir = poolDir;
    this.clock = clock;
    try {
      Files.createDirectories(poolDir);
      this.pki =
          simulatedPkiDir.isPresent() ? SimulatedPki.loadOrCreate(simulatedPkiDir.get(), clock) : null;
      this.host = TlsIdentity.generate("confaas-host", clock);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare pool directory " + poolDir, e);
    }
    // The reference value, computed as the agent's simulator will: over the artifacts it runs.
    this.mrTd = pki == null ? null : new SimulatedTdxModule(pki, agentArtifacts).mrTd();
  }

  /** The host's TLS identity, the only client this launcher's agents accept. */
  public TlsIdentity hostIdentity() {
    return host;
  }

  /** The MRTD every TD of this launcher must report (simulated TDX). */
  public byte[] expectedMrTd() {
    return simulated().mrTd.clone();
  }

  /**
   * Reference values for TDs with the simulated TDX module: MRTD over the agent's artifacts,
   * RTMR0..2 as the simulator leaves them (never extended: 48 zero bytes), no debug, TCB UpToDate.
   */
  public ReferenceValues referenceValues() {
    return ReferenceValues.builder()
        .allowMrTd(simulated().mrTd)
        .allowRtmr(0, new byte[48])
        .allowRtmr(1, new byte[48])
        .allowRtmr(2, new byte[48])
        .build();
  }

  /** The dev collateral of the pool's simulated PKI, issued now, valid for a day. */
  public Collateral collateral() {
    return simulated().pki.collateral(clock, Duration.ofDays(1));
  }

  /** {@link #attestor(Duration)} with {@link QuoteTdAttestor#DEFAULT_CALL_TIMEOUT}. */
  public QuoteTdAttestor attestor() {
    return attestor(QuoteTdAttestor.DEFAULT_CALL_TIMEOUT);
  }

  /**
   * An attestor for this launcher's TDs whose agent calls (Report, Inspect) take {@code
   * callTimeout} at most. Here, for TDs with the simulated TDX module: it trusts the pool's
   * simulated dev root (and nothing else simulated), appraises against {@link #referenceValues()},
   * and authenticates as this pool's host.
   */
  public QuoteTdAttestor attestor(Duration callTimeout) {
    return new QuoteTdAttestor(
        QuoteVerifier.trusting(simulated().pki.rootCertificate(), clock),
        quote -> collateral(),
        referenceValues(),
        host,
        clock,
        callTimeout);
  }

  private ChildProcessLauncher simulated() {
    if (pki == null) {
      throw new IllegalStateException(
          backend() + " TDs attest with their own TDX module, not the simulated one: their"
              + " reference values come from 'confaas guest measure' and their quotes chain to"
              + " Intel's root");
    }
    return this;
  }

  Path poolDir() {
    return poolDir;
  }

  /**
   * A fresh directory for TD {@code tdId} under the pool directory, holding the host's certificate
   * ({@value TdDirectories#MARKER}), which the agent will accept as its only client.
   *
   * @throws TdLaunchException when the launcher is closed, the ID is malformed, or the directory
   *     exists already
   */
  final Path newTdDirectory(String tdId) throws TdLaunchException {
    if (closed) {
      throw new TdLaunchException("this launcher is closed; create a new one");
    }
    if (!TD_ID.matcher(tdId).matches()) {
      throw new TdLaunchException(
          "TD id \""
              + tdId
              + "\" must be 1 to 64 letters, digits, '.', '_' or '-', starting with a"
              + " letter or digit (it names the TD's directory)");
    }
    Path dir = poolDir.resolve(tdId);
    try {
      Files.createDirectory(dir);
    } catch (FileAlreadyExistsException e) {
      throw new TdLaunchException(
          "TD directory " + dir + " already exists; TD ids must be unique within a pool directory");
    } catch (IOException e) {
      throw new TdLaunchException("cannot create TD directory " + dir + ": " + e.getMessage(), e);
    }
    // Each TD gets the host certificate in its own directory: launchers sharing a pool directory
    // have different host keys.
    host.writeCertificatePem(dir.resolve(TdDirectories.MARKER));
    return dir;
  }

  /**
   * The start of a TD process's command line that puts it in a session of its own ({@code
   * setsid}, where present): a Ctrl-C at the terminal signals the whole foreground process group,
   * and must reach only the owner, which then drains and stops its TDs in order.
   */
  static List<String> ownSession() {
    return Files.isExecutable(SETSID) ? List.of(SETSID.toString()) : List.of();
  }

  /** The last ten lines of a TD's log, for a message that says why it did not come up. */
  static String tail(Path log) {
    List<String> lines = read(log).lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
  }

  /** A TD's log as text (what is not UTF-8 replaced: a console carries any bytes); "" if none. */
  static String read(Path log) {
    try {
      return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Stops every TD still running; idempotent, and later launches fail. */
  @Override
  public void close() {
    closed = true;
    for (Td td : List.copyOf(running)) {
      td.close();
    }
  }

  /**
   * One TD that is a child process of this JVM (with whatever it started): recorded with its
   * launcher while it runs, and stopped once — {@link #stop} by the backend's rule, then its stdin
   * pipe closed (what the process watches to outlive no launcher) and {@link #afterStop}.
   */
  abstract static class Td implements LaunchedTd {
    private final String id;
    private final String backend;
    private final String accelerator;
    final Process process;
    private final Path dir;
    final Duration stopGrace;
    private final ChildProcessLauncher launcher;
    private volatile String target;
    private boolean closed;

    Td(
        ChildProcessLauncher launcher,
        String id,
        String accelerator,
        Process process,
        Path dir,
        Duration stopGrace) {
      this.launcher = launcher;
      this.id = id;
      this.backend = launcher.backend();
      this.accelerator = accelerator;
      this.process = process;
      this.dir = dir;
      this.stopGrace = stopGrace;
      launcher.running.add(this);
    }

    /** Records where the agent serves, once it does. */
    void serving(String target) {
      this.target = target;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public String backend() {
      return backend;
    }

    /** {@code kvm} or {@code tcg} for a VM; {@code none} for an agent process on the host. */
    String accelerator() {
      return accelerator;
    }

    @Override
    public String agentTarget() {
      return target;
    }

    /** The TD's directory (its logs; the process backend's state too). */
    Path dir() {
      return dir;
    }

    /** False once the TD's process has exited. */
    @Override
    public boolean isAlive() {
      return process.isAlive();
    }

    @Override
    public final void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      try {
        stop();
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      } finally {
        try {
          process.getOutputStream().close();
        } catch (IOException ignored) {
          // The pipe is gone with the process.
        }
        afterStop();
        launcher.running.remove(this);
      }
    }

    /** Stops the TD's process and whatever it started; called once. */
    abstract void stop() throws InterruptedException;

    /** Clean-up after the process is gone; nothing by default. */
    void afterStop() {}

    /**
     * SIGTERM, then SIGKILL after {@link #stopGrace}.
     *
     * @return whether the process exited within the grace
     */
    final boolean terminate() throws InterruptedException {
      process.destroy();
      if (process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
      process.destroyForcibly();
      process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS);
      return false;
    }

    @Override
    public String toString() {
      return backend + " TD " + id + " (pid " + process.pid() + ", " + target + ")";
    }
  }

  /** The processes a list of handles names that are still alive, killed. */
  static void killAll(List<ProcessHandle> processes) {
    for (ProcessHandle p : new ArrayList<>(processes)) {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }
}
