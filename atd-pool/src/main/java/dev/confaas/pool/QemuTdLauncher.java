package dev.confaas.pool;

import dev.confaas.attestation.PcsCollateralSource;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.TdxQuote;
import dev.confaas.attestation.measure.DirectBoot;
import dev.confaas.attestation.measure.PageAddOrder;
import dev.confaas.attestation.measure.TdvfFirmware;
import dev.confaas.pool.QemuCommandLine.Accel;
import dev.confaas.pool.guest.GuestImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 * QEMU whose {@code -object help} lists {@code tdx-guest} (refused otherwise, saying so: {@link
 * #requireTdx}). The agent in the guest then uses the TD's own TDX module; the reference values
 * are computed from the firmware and the image before any TD boots, as {@code confaas guest
 * measure} computes them (MRTD from TDVF, RTMR1 and RTMR2 from the kernel, initrd and command
 * line; RTMR0, which depends on the whole machine configuration, is not checked), and quotes are
 * verified against Intel's root with collateral from Intel's PCS.
 *
 * <p>A TD's directory keeps {@code console.log} (kernel, init and agent output) and {@code
 * qemu.log} (QEMU's own messages). Killing the QEMU process is a TD loss: {@link
 * LaunchedTd#isAlive} turns false. QEMU runs in a session of its own under a small shell that stops
 * it when this JVM's pipe to it closes, so even a killed launcher leaves no VM behind, and the
 * owner's ordered shutdown, not a Ctrl-C, stops the TDs ({@link ChildProcessLauncher}). At
 * construction, directories of TDs of earlier runs beyond the newest {@value #KEPT_TD_DIRS} are
 * deleted.
 */
public final class QemuTdLauncher extends ChildProcessLauncher {
  private static final Logger log = LoggerFactory.getLogger(QemuTdLauncher.class);
  static final String PID_FILE = "qemu.pid";
  static final String CONSOLE_LOG = "console.log";
  static final String QEMU_LOG = "qemu.log";

  /** What the agent prints once it serves (TdAgentMain). */
  static final String SERVING = "confaas-agent listening on ";
  /** Directories of stopped TDs (with their logs) kept across restarts. */
  static final int KEPT_TD_DIRS = 16;
  /** Where the {@code qemu-tdx} backend fetches collateral for its TDs' quotes. */
  static final URI INTEL_PCS = URI.create("https://api.trustedservices.intel.com");

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
   * @param functionInitTimeout how long a function instance in the guest has to ask for its first
   *     event (the agent's {@code --init-timeout-ms}, passed through fw_cfg)
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
      Duration functionInitTimeout,
      Optional<Tdx> tdx,
      Clock clock) {
    public Config {
      Objects.requireNonNull(poolDir, "poolDir");
      Objects.requireNonNull(pkiDir, "pkiDir");
      Objects.requireNonNull(image, "image");
      Objects.requireNonNull(qemu, "qemu");
      Objects.requireNonNull(accelerator, "accelerator");
      Objects.requireNonNull(tdx, "tdx");
      Objects.requireNonNull(functionInitTimeout, "functionInitTimeout");
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
     * it works else TCG, 1024 MB and 1 vCPU per TD, boot and function init limits of {@link
     * TdTimeouts} for TCG (the slower; {@link #forAccelerator} tightens them), 20 s for the KVM
     * probe, 5 s to stop, the dev PKI in {@code poolDir/simulated-pki}.
     */
    public static Config defaults(Path poolDir, GuestImage image) {
      TdTimeouts tcg = TdTimeouts.of("qemu", "tcg");
      return new Config(
          poolDir,
          poolDir.resolve("simulated-pki"),
          image,
          Path.of("qemu-system-x86_64"),
          Accelerator.AUTO,
          1024,
          1,
          tcg.boot(),
          Duration.ofSeconds(20),
          Duration.ofSeconds(5),
          tcg.functionInit(),
          Optional.empty(),
          Clock.systemUTC());
    }

    /**
     * This configuration with the accelerator {@code accelerator} ({@code kvm} or {@code tcg}, as
     * {@link QemuTdLauncher#chooseAccelerator} found it) and the boot and function init limits of
     * {@code timeouts}.
     */
    public Config forAccelerator(String accelerator, TdTimeouts timeouts) {
      Accelerator a =
          switch (accelerator) {
            case "kvm" -> Accelerator.KVM;
            case "tcg" -> Accelerator.TCG;
            default -> throw new IllegalArgumentException(
                "accelerator must be kvm or tcg, was " + accelerator);
          };
      return withAccelerator(a)
          .withBootTimeout(timeouts.boot())
          .withFunctionInitTimeout(timeouts.functionInit());
    }

    public Config withStopGrace(Duration v) {
      return with(c -> c.stopGrace = v);
    }

    public Config withFunctionInitTimeout(Duration v) {
      return with(c -> c.functionInitTimeout = v);
    }

    public Config withAccelerator(Accelerator v) {
      return with(c -> c.accelerator = v);
    }

    public Config withResources(int memoryMb, int vcpus) {
      return with(
          c -> {
            c.memoryMb = memoryMb;
            c.vcpus = vcpus;
          });
    }

    public Config withBootTimeout(Duration v) {
      return with(c -> c.bootTimeout = v);
    }

    public Config withQemu(Path v) {
      return with(c -> c.qemu = v);
    }

    /** The {@code qemu-tdx} backend: these TDX options, KVM only. */
    public Config withTdx(Tdx v) {
      return with(
          c -> {
            c.accelerator = Accelerator.KVM;
            c.tdx = Optional.of(v);
          });
    }

    public Config withClock(Clock v) {
      return with(c -> c.clock = v);
    }

    /** A copy with what {@code change} sets changed, checked as a new configuration. */
    private Config with(java.util.function.Consumer<Fields> change) {
      Fields f = new Fields(this);
      change.accept(f);
      return f.build();
    }

    /** The components of a {@link Config}, to change some and build another. */
    private static final class Fields {
      Path poolDir;
      Path pkiDir;
      GuestImage image;
      Path qemu;
      Accelerator accelerator;
      int memoryMb;
      int vcpus;
      Duration bootTimeout;
      Duration probeTimeout;
      Duration stopGrace;
      Duration functionInitTimeout;
      Optional<Tdx> tdx;
      Clock clock;

      Fields(Config c) {
        poolDir = c.poolDir;
        pkiDir = c.pkiDir;
        image = c.image;
        qemu = c.qemu;
        accelerator = c.accelerator;
        memoryMb = c.memoryMb;
        vcpus = c.vcpus;
        bootTimeout = c.bootTimeout;
        probeTimeout = c.probeTimeout;
        stopGrace = c.stopGrace;
        functionInitTimeout = c.functionInitTimeout;
        tdx = c.tdx;
        clock = c.clock;
      }

      Config build() {
        return new Config(poolDir, pkiDir, image, qemu, accelerator, memoryMb, vcpus, bootTimeout,
            probeTimeout, stopGrace, functionInitTimeout, tdx, clock);
      }
    }
  }

  private final Config config;
  private final Optional<QemuCommandLine.Tdx> tdx;
  /** The {@code qemu-tdx} reference values, from the firmware and image; null for {@code qemu}. */
  private final ReferenceValues tdxReference;
  private final Accel accel;

  /**
   * Prepares the launcher: checks the image, and with TDX that this QEMU can start TDX guests and
   * the reference values of the firmware and image; under {@link Accelerator#AUTO}, finds the
   * accelerator ({@link #chooseAccelerator}).
   *
   * @throws TdLaunchException when the image is incomplete, when {@code qemu-tdx} is asked of a
   *     QEMU without {@code tdx-guest}, or when the firmware cannot be measured
   */
  public QemuTdLauncher(Config config) throws TdLaunchException {
    super(
        config.poolDir(),
        config.tdx().isPresent() ? Optional.empty() : Optional.of(config.pkiDir()),
        config.image().agentArtifactDigests().toArray(new byte[0][]),
        config.clock());
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
      this.tdxReference = measuredReferenceValues(config, support);
      this.accel = Accel.KVM;
    } else {
      this.tdx = Optional.empty();
      this.tdxReference = null;
      this.accel = accelOf(chooseAccelerator(config));
    }
    TdDirectories.pruneEarlierRuns(config.poolDir(), KEPT_TD_DIRS);
  }

  /**
   * Fails, saying what to install, unless {@code qemu}'s {@code -object help} lists {@code
   * tdx-guest}: what an owner checks before it builds anything for the {@code qemu-tdx} backend.
   */
  public static void requireTdx(Path qemu) throws TdLaunchException {
    QemuSupport.of(qemu).requireTdx(qemu);
  }

  /**
   * MRTD of the TDVF firmware and RTMR1/RTMR2 of direct boot of the image with this memory, as a
   * TDX host will report them; RTMR0 (the machine configuration) is not checked.
   */
  private static ReferenceValues measuredReferenceValues(Config config, QemuSupport support)
      throws TdLaunchException {
    Path firmware = config.tdx().orElseThrow().firmware();
    try {
      TdvfFirmware fw = TdvfFirmware.parse(Files.readAllBytes(firmware));
      PageAddOrder order = PageAddOrder.parse(support.version());
      DirectBoot boot =
          DirectBoot.of(
              Files.readAllBytes(config.image().kernel()),
              Files.readAllBytes(config.image().initrd()),
              config.image().cmdline(),
              (long) config.memoryMb() << 20);
      return ReferenceValues.builder()
          .allowMrTd(fw.mrtd(order))
          .allowRtmr(1, boot.rtmr1().value())
          .allowRtmr(2, boot.rtmr2().value())
          .build();
    } catch (IOException e) {
      throw new TdLaunchException("cannot read " + e.getMessage() + " to compute reference values", e);
    } catch (IllegalArgumentException e) {
      throw new TdLaunchException(
          "cannot compute the qemu-tdx reference values of " + firmware + " and the guest image: "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public String backend() {
    return tdx.isPresent() ? "qemu-tdx" : "qemu";
  }

  /** {@code kvm} or {@code tcg}: what this launcher's TDs run on. */
  @Override
  public String accelerator() {
    return accel.option();
  }

  private static Accel accelOf(String option) {
    return option.equals("kvm") ? Accel.KVM : Accel.TCG;
  }

  /**
   * {@code kvm} or {@code tcg}: the accelerator {@code config} asks for, or under {@link
   * Accelerator#AUTO} the one that works here, found by trying once per QEMU binary and JVM (a
   * probe guest under KVM must reach its init and power off within {@link Config#probeTimeout}).
   * Blocks while it probes.
   */
  public static String chooseAccelerator(Config config) {
    switch (config.accelerator()) {
      case KVM:
        return Accel.KVM.option();
      case TCG:
        log.info("qemu backend: TCG (as configured)");
        return Accel.TCG.option();
      default:
        break;
    }
    return ACCEL_CACHE.computeIfAbsent(config.qemu().toString(), k -> probe(config)).option();
  }

  /** Boots the image under KVM with {@code confaas.probe}; KVM works if it powers off in time. */
  private static Accel probe(Config config) {
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
          "qemu backend: TCG, because under KVM a probe guest {} (see {}); TCG boots are slow",
          exited
              ? "exited with status " + p.exitValue() + " without reaching init"
              : "did not reach init in " + config.probeTimeout(),
          dir);
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

  /**
   * With TDX, the values computed from the firmware and the image; else {@link
   * ChildProcessLauncher#referenceValues() the simulated module's}.
   */
  @Override
  public ReferenceValues referenceValues() {
    return tdxReference != null ? tdxReference : super.referenceValues();
  }

  /**
   * An attestor for this launcher's TDs. On {@code qemu}, as on the process backend: the pool's
   * simulated dev root. On {@code qemu-tdx}: Intel's root, collateral from Intel's PCS for the
   * platform that signed each quote, and the reference values computed from the firmware and image
   * ({@link #referenceValues()}).
   */
  @Override
  public QuoteTdAttestor attestor(Duration callTimeout) {
    if (tdxReference == null) {
      return super.attestor(callTimeout);
    }
    PcsCollateralSource pcs = new PcsCollateralSource(INTEL_PCS, config.clock());
    return new QuoteTdAttestor(
        QuoteVerifier.intel(config.clock()),
        quote -> pcs.collateralFor(TdxQuote.parse(quote)),
        tdxReference,
        hostIdentity(),
        config.clock(),
        callTimeout);
  }

  /** The QEMU command line of TD {@code tdId} whose agent is forwarded to {@code hostPort}. */
  List<String> commandLine(String tdId, Path dir, int hostPort) {
    Map<String, Path> fwCfg = new LinkedHashMap<>();
    fwCfg.put("host-cert.pem", dir.resolve(TdDirectories.MARKER));
    fwCfg.put("td-id", dir.resolve(TD_ID_FILE));
    fwCfg.put("init-timeout-ms", dir.resolve(INIT_TIMEOUT_FILE));
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
            accel,
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

  /** Per-TD inputs the guest reads through fw_cfg. */
  static final String TD_ID_FILE = "td-id";
  static final String INIT_TIMEOUT_FILE = "init-timeout-ms";

  @Override
  public LaunchedTd launch(String tdId) throws TdLaunchException {
    Path dir = newTdDirectory(tdId);
    try {
      Files.writeString(dir.resolve(TD_ID_FILE), tdId, StandardCharsets.US_ASCII);
      Files.writeString(
          dir.resolve(INIT_TIMEOUT_FILE),
          Long.toString(config.functionInitTimeout().toMillis()),
          StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new TdLaunchException("cannot write the TD's inputs into " + dir + ": " + e.getMessage(), e);
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
    List<String> cmd = new ArrayList<>(ownSession());
    cmd.addAll(List.of("/bin/sh", "-c", WRAPPER, "confaas-qemu"));
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
      TdDirectories.recordPid(dir, p.pid());
      return new QemuTd(this, tdId, accelerator(), p, dir, config.stopGrace());
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
                  + tail(dir.resolve(QEMU_LOG))
                  + "; "
                  + console
                  + " ends with: "
                  + tail(console));
        }
        if (System.nanoTime() > deadline) {
          throw new TdLaunchException(
              "TD "
                  + td.id()
                  + ": the agent did not serve within "
                  + config.bootTimeout()
                  + " ("
                  + accelerator()
                  + "; raise pool.bootTimeout if the machine is loaded); "
                  + console
                  + " ends with: "
                  + tail(console));
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
}
