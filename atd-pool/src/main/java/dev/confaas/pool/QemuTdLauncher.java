package dev.confaas.pool;

import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import dev.confaas.pool.QemuCommandLine.Accel;
import dev.confaas.pool.guest.GuestImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code qemu} backend, and with {@link Config#tdx} the {@code qemu-tdx} backend: each TD is a
 * {@code qemu-system-x86_64} process booting a {@link GuestImage} directly (kernel, initramfs,
 * command line) whose init runs the agent. The agent's gRPC port in the guest is forwarded to a
 * free loopback port on the host (user-mode networking), so a TD is reached like a process TD.
 *
 * <p>{@code qemu}: KVM when it works here, TCG otherwise. Whether KVM works is found by trying — a
 * {@code /dev/kvm} can exist and still not run a stock kernel (a nested paravirtual KVM) — once per
 * QEMU binary and JVM: the guest is booted with {@code confaas.probe} on its command line, which
 * its init answers by powering off; if that does not happen within {@link Config#probeTimeout}, TCG
 * it is. Inside the guest the agent attests with the simulated TDX module under the pool's dev PKI,
 * passed in through fw_cfg with the host's certificate; its MRTD is over the agent's class path in
 * the guest, which the image holds unchanged, so the reference value is {@link
 * GuestImage#agentArtifactDigests} measured as on the process backend.
 *
 * <p>{@code qemu-tdx}: the same command line plus the TDX options ({@link QemuCommandLine}), for a
 * QEMU whose {@code -object help} lists {@code tdx-guest} (refused otherwise, saying so). The agent
 * in the guest then uses the TD's own TDX module; its reference values come from {@code confaas
 * guest measure}, and its quotes are verified against Intel's root, so {@link #attestor()} does not
 * apply.
 *
 * <p>A TD's directory keeps {@code console.log} (kernel, init and agent output) and {@code
 * qemu.log} (QEMU's own messages). Killing the QEMU process is a TD loss: {@link
 * LaunchedTd#isAlive} turns false. QEMU runs under a small shell that stops it when this JVM's pipe
 * to it closes, so even a killed launcher leaves no VM behind.
 */
final class QemuTdLauncher implements TdLauncher {
  private static final Logger log = LoggerFactory.getLogger(QemuTdLauncher.class);
  private static final Pattern TD_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  static final String PID_FILE = "qemu.pid";
  static final String CONSOLE_LOG = "console.log";
  static final String QEMU_LOG = "qemu.log";

  /** What the agent prints once it serves (TdAgentMain). */
  static final String SERVING = "confaas-agent listening on ";

  /** Accelerator per QEMU binary, found once per JVM. */
  private static final Map<String, Accel> ACCEL_CACHE = new ConcurrentHashMap<>();

  /**
   * Runs QEMU ("$@") so that it stops when this JVM does: the shell holds the read end of a pipe
   * from this JVM (its stdin); when it closes, the shell stops QEMU. The shell exits with QEMU.
   */
  private static final String WRAPPER =
      String.join(
          "\n",
          "exec 3<&0",
          "\"$@\" </dev/null &",
          "q=$!",
          "trap 'kill $q 2>/dev/null' TERM INT HUP",
          "( read -r _ <&3; kill $q 2>/dev/null ) &",
          "w=$!",
          "s=0",
          "while kill -0 $q 2>/dev/null; do wait $q; s=$?; done",
          "kill $w 2>/dev/null",
          "exit $s");

  /** How the accelerator is chosen. */
  public enum Accelerator {
    /** KVM if a probe guest boots under it in time, else TCG. */
    AUTO,
    KVM,
    TCG
  }

  /**
   * The TDX options of the {@code qemu-tdx} backend.
   *
   * @param firmware TDVF for {@code -bios} (e.g. Debian's {@code /usr/share/ovmf/OVMF.fd})
   * @param quoteGenerationSocket the host's QGS: {@code vsock:2:4050} or {@code unix:PATH}; empty
   *     if none (the guest then cannot quote)
   */
  public record Tdx(Path firmware, Optional<String> quoteGenerationSocket) {
    public Tdx {
      Objects.requireNonNull(firmware, "firmware");
      quoteGenerationSocket.ifPresent(QemuCommandLine.Tdx::socketJson); // fails early if malformed
    }
  }

  /**
   * How TDs are launched.
   *
   * @param poolDir where each TD gets its directory ({@code poolDir/<td id>})
   * @param pkiDir the simulated TDX PKI directory (created if empty); unused with TDX
   * @param image the guest image every TD boots
   * @param qemu the {@code qemu-system-x86_64} binary
   * @param accelerator KVM, TCG, or found by trying
   * @param memoryMb RAM per TD
   * @param vcpus vCPUs per TD
   * @param bootTimeout how long a TD has from QEMU's start until its agent serves (generous: a TCG
   *     guest on a loaded machine takes tens of seconds)
   * @param probeTimeout how long the KVM probe guest has to boot and power off
   * @param stopGrace how long QEMU has to exit after SIGTERM before it is killed
   * @param tdx the TDX options: present for the {@code qemu-tdx} backend
   * @param clock for the PKI, collateral and certificates
   */
  public record Config(
      Path poolDir,
      Path pkiDir,
      GuestImage image,
      Path qemu,
      Accelerator accelerator,
      int memoryMb,
      int vcpus,
      Duration bootTimeout,
      Duration probeTimeout,
      Duration stopGrace,
      Optional<Tdx> tdx,
      Clock clock) {
    public Config {
      Objects.requireNonNull(poolDir, "poolDir");
      Objects.requireNonNull(pkiDir, "pkiDir");
      Objects.requireNonNull(image, "image");
      Objects.requireNonNull(qemu, "qemu");
      Objects.requireNonNull(accelerator, "accelerator");
      Objects.requireNonNull(tdx, "tdx");
      if (memoryMb < 256) {
        throw new IllegalArgumentException(
            "memoryMb " + memoryMb + " is too small for the guest's JVM; give a TD 256 MB or more");
      }
      if (vcpus < 1) {
        throw new IllegalArgumentException("vcpus must be at least 1, got " + vcpus);
      }
      if (tdx.isPresent() && accelerator == Accelerator.TCG) {
        throw new IllegalArgumentException("a TDX guest runs only under KVM, not TCG");
      }
    }

    /**
     * The {@code qemu} backend on {@code image}: {@code qemu-system-x86_64} from the PATH, KVM if
     * it works else TCG, 1024 MB and 1 vCPU per TD, 180 s to boot, 20 s for the KVM probe, 5 s to
     * stop, the dev PKI in {@code poolDir/simulated-pki}.
     */
    public static Config defaults(Path poolDir, GuestImage image) {
      return new Config(
          poolDir,
          poolDir.resolve("simulated-pki"),
          image,
          Path.of("qemu-system-x86_64"),
          Accelerator.AUTO,
          1024,
          1,
          Duration.ofSeconds(180),
          Duration.ofSeconds(20),
          Duration.ofSeconds(5),
          Optional.empty(),
          Clock.systemUTC());
    }

    public Config withAccelerator(Accelerator v) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          qemu,
          v,
          memoryMb,
          vcpus,
          bootTimeout,
          probeTimeout,
          stopGrace,
          tdx,
          clock);
    }

    public Config withResources(int memoryMb, int vcpus) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          qemu,
          accelerator,
          memoryMb,
          vcpus,
          bootTimeout,
          probeTimeout,
          stopGrace,
          tdx,
          clock);
    }

    public Config withBootTimeout(Duration v) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          qemu,
          accelerator,
          memoryMb,
          vcpus,
          v,
          probeTimeout,
          stopGrace,
          tdx,
          clock);
    }

    public Config withQemu(Path v) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          v,
          accelerator,
          memoryMb,
          vcpus,
          bootTimeout,
          probeTimeout,
          stopGrace,
          tdx,
          clock);
    }

    /** The {@code qemu-tdx} backend: these TDX options, KVM only. */
    public Config withTdx(Tdx v) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          qemu,
          Accelerator.KVM,
          memoryMb,
          vcpus,
          bootTimeout,
          probeTimeout,
          stopGrace,
          Optional.of(v),
          clock);
    }

    public Config withClock(Clock v) {
      return new Config(
          poolDir,
          pkiDir,
          image,
          qemu,
          accelerator,
          memoryMb,
          vcpus,
          bootTimeout,
          probeTimeout,
          stopGrace,
          tdx,
          v);
    }
  }

  private final Config config;
  private final Optional<QemuCommandLine.Tdx> tdx;
  private final SimulatedPki pki;
  private final TlsIdentity host;
  private final byte[] mrTd;
  private final Set<QemuTd> running = ConcurrentHashMap.newKeySet();
  private final Thread shutdownHook;
  private volatile Accel accel;
  private volatile boolean closed;

  /**
   * Prepares the launcher; with TDX, checks that this QEMU can start TDX guests.
   *
   * @throws TdLaunchException when {@code qemu-tdx} is asked of a QEMU without {@code tdx-guest}
   */
  public QemuTdLauncher(Config config) throws TdLaunchException {
    this.config = config;
    if (!Files.isRegularFile(config.image().kernel())
        || !Files.isRegularFile(config.image().initrd())) {
      throw new TdLaunchException(
          "guest image incomplete: "
              + config.image().kernel()
              + " or "
              + config.image().initrd()
              + " is missing; build it with 'confaas guest build'");
    }
    if (config.tdx().isPresent()) {
      QemuSupport support = QemuSupport.of(config.qemu());
      Tdx t = config.tdx().get();
      this.tdx =
          Optional.of(
              new QemuCommandLine.Tdx(
                  support.requireTdx(config.qemu()), t.firmware(), t.quoteGenerationSocket()));
      this.accel = Accel.KVM;
    } else {
      this.tdx = Optional.empty();
    }
    try {
      Files.createDirectories(config.poolDir());
      this.pki = SimulatedPki.loadOrCreate(config.pkiDir(), config.clock());
      this.host = TlsIdentity.generate("confaas-host", config.clock());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare pool directory " + config.poolDir(), e);
    }
    // As the simulator in the guest computes it, over the agent's artifacts the image holds.
    this.mrTd =
        new SimulatedTdxModule(pki, config.image().agentArtifactDigests().toArray(new byte[0][]))
            .mrTd();
    this.shutdownHook = new Thread(this::stopAll, "confaas-qemu-tds-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  @Override
  public String backend() {
    return tdx.isPresent() ? "qemu-tdx" : "qemu";
  }

  /**
   * {@code kvm} or {@code tcg}: what this launcher's TDs run on, probing on first use under {@link
   * Accelerator#AUTO}.
   */
  public String accelerator() {
    return accel().option();
  }

  private Accel accel() {
    Accel a = accel;
    if (a == null) {
      synchronized (this) {
        if (accel == null) {
          accel = chooseAccel();
        }
        a = accel;
      }
    }
    return a;
  }

  private Accel chooseAccel() {
    switch (config.accelerator()) {
      case KVM:
        return Accel.KVM;
      case TCG:
        log.info("qemu backend: TCG (as configured)");
        return Accel.TCG;
      default:
        break;
    }
    String key = config.qemu().toString();
    Accel cached = ACCEL_CACHE.get(key);
    if (cached != null) {
      return cached;
    }
    Accel found = probe();
    ACCEL_CACHE.put(key, found);
    return found;
  }

  /** Boots the image under KVM with {@code confaas.probe}; KVM works if it powers off in time. */
  private Accel probe() {
    Path kvm = Path.of("/dev/kvm");
    if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
      log.info("qemu backend: TCG, because /dev/kvm is missing or not accessible to this user");
      return Accel.TCG;
    }
    Path dir = config.poolDir().resolve("kvm-probe-" + ProcessHandle.current().pid());
    long start = System.nanoTime();
    Process p = null;
    try {
      Files.createDirectories(dir);
      List<String> cmd =
          QemuCommandLine.build(
              new QemuCommandLine.Spec(
                  config.qemu(),
                  "kvm-probe",
                  Accel.KVM,
                  256,
                  1,
                  config.image().kernel(),
                  config.image().initrd(),
                  config.image().cmdline() + " confaas.probe",
                  dir.resolve(CONSOLE_LOG),
                  dir.resolve(PID_FILE),
                  freePort(),
                  config.image().agentPort(),
                  Map.of(),
                  Optional.empty()));
      p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve(QEMU_LOG).toFile())
              .start();
      p.getOutputStream().close();
      boolean exited = p.waitFor(config.probeTimeout().toMillis(), TimeUnit.MILLISECONDS);
      String console = read(dir.resolve(CONSOLE_LOG));
      long ms = (System.nanoTime() - start) / 1_000_000;
      if (exited && p.exitValue() == 0 && console.contains("confaas-guest: probe ok")) {
        log.info("qemu backend: KVM (a probe guest booted and powered off in {} ms)", ms);
        return Accel.KVM;
      }
      log.info(
          "qemu backend: TCG, because under KVM a probe guest {} (see {}); TCG boots are slow,"
              + " boot timeout {}",
          exited
              ? "exited with status " + p.exitValue() + " without reaching init"
              : "did not reach init in " + config.probeTimeout(),
          dir,
          config.bootTimeout());
      return Accel.TCG;
    } catch (IOException e) {
      log.info("qemu backend: TCG, because the KVM probe could not run: {}", e.getMessage());
      return Accel.TCG;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Accel.TCG;
    } finally {
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
        try {
          p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** The MRTD every TD of the {@code qemu} backend must report. */
  public byte[] expectedMrTd() {
    return mrTd.clone();
  }

  /**
   * Reference values for the {@code qemu} backend: MRTD over the agent's artifacts in the image,
   * RTMR0..2 as the simulator leaves them (48 zero bytes), no debug, TCB UpToDate.
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
   * An attestor for the {@code qemu} backend's TDs: trusts the pool's simulated dev root only,
   * appraises against {@link #referenceValues()}, authenticates as this pool's host.
   *
   * @throws IllegalStateException on {@code qemu-tdx}, whose quotes chain to Intel's root and whose
   *     reference values come from {@code confaas guest measure}: build a {@link QuoteTdAttestor}
   *     with those and {@link #hostIdentity()}
   */
  public QuoteTdAttestor attestor() {
    if (tdx.isPresent()) {
      throw new IllegalStateException(
          "qemu-tdx TDs attest with real quotes: build a QuoteTdAttestor trusting Intel's SGX root"
              + " with PCS collateral and the reference values of 'confaas guest measure'");
    }
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

  /** The QEMU command line of TD {@code tdId} whose agent is forwarded to {@code hostPort}. */
  List<String> commandLine(String tdId, Path dir, int hostPort) {
    Map<String, Path> fwCfg = new LinkedHashMap<>();
    fwCfg.put("host-cert.pem", dir.resolve("host-cert.pem"));
    fwCfg.put("td-id", dir.resolve("td-id"));
    if (tdx.isEmpty()) {
      try (var files = Files.list(config.pkiDir())) {
        files
            .filter(f -> f.getFileName().toString().matches("[a-z-]+\\.(pem|key)"))
            .forEach(f -> fwCfg.put("pki/" + f.getFileName(), f));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list the simulated PKI in " + config.pkiDir(), e);
      }
    }
    return QemuCommandLine.build(
        new QemuCommandLine.Spec(
            config.qemu(),
            tdId,
            accel(),
            config.memoryMb(),
            config.vcpus(),
            config.image().kernel(),
            config.image().initrd(),
            config.image().cmdline(),
            dir.resolve(CONSOLE_LOG),
            dir.resolve(PID_FILE),
            hostPort,
            config.image().agentPort(),
            fwCfg,
            tdx));
  }

  @Override
  public LaunchedTd launch(String tdId) throws TdLaunchException {
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
    Path dir = config.poolDir().resolve(tdId);
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new TdLaunchException(
          "TD directory " + dir + " already exists; TD ids must be unique within a pool directory");
    } catch (IOException e) {
      throw new TdLaunchException("cannot create TD directory " + dir + ": " + e.getMessage(), e);
    }
    host.writeCertificatePem(dir.resolve("host-cert.pem"));
    try {
      Files.writeString(dir.resolve("td-id"), tdId, java.nio.charset.StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new TdLaunchException("cannot write the TD id into " + dir + ": " + e.getMessage(), e);
    }
    // Elapsed time of a real VM, not domain time: a pinned test clock must not stop it.
    long deadline = System.nanoTime() + config.bootTimeout().toNanos();
    // A free port can be taken between our look and QEMU's bind: then QEMU fails at once; retry.
    for (int attempt = 1; ; attempt++) {
      int port;
      try {
        port = freePort();
      } catch (IOException e) {
        throw new TdLaunchException("TD " + tdId + ": no free loopback port: " + e.getMessage(), e);
      }
      QemuTd td = start(tdId, dir, port);
      try {
        awaitAgent(td, dir, deadline);
        td.serving("127.0.0.1:" + port);
        return td;
      } catch (PortTaken e) {
        td.close();
        if (attempt >= 3) {
          throw new TdLaunchException(
              "TD " + tdId + ": QEMU could not forward a loopback port 3 times: " + e.getMessage());
        }
      } catch (TdLaunchException | RuntimeException e) {
        td.close();
        throw e;
      }
    }
  }

  private QemuTd start(String tdId, Path dir, int port) throws TdLaunchException {
    List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", WRAPPER, "confaas-qemu"));
    cmd.addAll(commandLine(tdId, dir, port));
    try {
      Files.deleteIfExists(dir.resolve(PID_FILE));
      Files.deleteIfExists(dir.resolve(CONSOLE_LOG));
      Process p =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(QEMU_LOG).toFile()))
              .start();
      QemuTd td = new QemuTd(tdId, backend(), p, dir, config.stopGrace(), running::remove);
      running.add(td);
      return td;
    } catch (IOException e) {
      throw new TdLaunchException(
          "TD " + tdId + ": cannot start " + config.qemu() + ": " + e.getMessage(), e);
    }
  }

  /** QEMU failed to bind the forwarded port (taken since we looked). */
  private static final class PortTaken extends Exception {
    PortTaken(String message) {
      super(message, null, false, false);
    }
  }

  private void awaitAgent(QemuTd td, Path dir, long deadline) throws TdLaunchException, PortTaken {
    Path console = dir.resolve(CONSOLE_LOG);
    long read = 0;
    String carry = ""; // the end of what was read, in case the marker straddles two reads
    try {
      while (true) {
        // Only the new part of the console is read each time: it grows through the boot.
        if (Files.exists(console) && Files.size(console) > read) {
          byte[] fresh;
          try (var ch = java.nio.channels.FileChannel.open(console)) {
            ch.position(read);
            fresh = java.nio.channels.Channels.newInputStream(ch).readAllBytes();
          }
          read += fresh.length;
          String text = carry + new String(fresh, StandardCharsets.ISO_8859_1);
          if (text.contains(SERVING)) {
            return;
          }
          carry = text.substring(Math.max(0, text.length() - SERVING.length()));
        }
        if (!td.isAlive()) {
          String qemuLog = read(dir.resolve(QEMU_LOG));
          if (qemuLog.contains("hostfwd") || qemuLog.contains("host forwarding")) {
            throw new PortTaken(qemuLog.strip());
          }
          throw new TdLaunchException(
              "TD "
                  + td.id()
                  + ": QEMU exited before the agent served; "
                  + dir.resolve(QEMU_LOG)
                  + ": "
                  + tail(qemuLog)
                  + "; "
                  + console
                  + " ends with: "
                  + tail(read(console)));
        }
        if (System.nanoTime() > deadline) {
          throw new TdLaunchException(
              "TD "
                  + td.id()
                  + ": the agent did not serve within "
                  + config.bootTimeout()
                  + " ("
                  + accelerator()
                  + "; raise the boot timeout if the machine is loaded); "
                  + console
                  + " ends with: "
                  + tail(read(console)));
        }
        Thread.sleep(50);
      }
    } catch (IOException e) {
      throw new TdLaunchException("TD " + td.id() + ": cannot read " + console + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TdLaunchException("interrupted while TD " + td.id() + " was booting", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String read(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static String tail(String text) {
    List<String> lines = text.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
  }

  private void stopAll() {
    for (QemuTd td : List.copyOf(running)) {
      td.close();
    }
  }

  @Override
  public void close() {
    closed = true;
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The hook is running or ran.
    }
  }
}
