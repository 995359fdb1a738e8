package dev.confaas.pool;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The QEMU command line of one TD, as data: the same builder for the {@code qemu} backend (KVM or
 * TCG, the simulated TDX module in the guest) and the {@code qemu-tdx} backend (a TD on a TDX
 * host), so that the two differ only in the TDX options. Direct kernel boot, no default devices,
 * the serial console into a file, user-mode networking with one loopback port forwarded to the
 * agent, per-TD inputs through fw_cfg ({@code opt/confaas/...}).
 */
final class QemuCommandLine {
  /**
   * Where the guest's per-TD inputs live in fw_cfg; the guest's init copies them to /run/confaas.
   */
  static final String FW_CFG_PREFIX = "opt/confaas/";

  /** How QEMU runs the guest's vCPUs. */
  enum Accel {
    KVM,
    TCG;

    String option() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The supported QEMU flavours with TDX. They differ in how the TD's private memory is set up. */
  enum TdxFlavour {
    /**
     * Upstream QEMU ≥ 10.1, and distribution TDX builds on guest_memfd (e.g. Ubuntu 24.04's): KVM
     * allocates private memory itself; nothing to configure.
     */
    UPSTREAM,
    /**
     * Earlier TDX trees (intel-staging qemu-tdx and distribution builds from them) whose private
     * memory is a {@code memory-backend-memfd-private} object the machine must name.
     */
    PRIVATE_MEMFD
  }

  /**
   * The TDX options.
   *
   * @param flavour which QEMU this is ({@link QemuSupport#tdxFlavour})
   * @param firmware TDVF, loaded with {@code -bios} (e.g. {@code /usr/share/ovmf/OVMF.fd})
   * @param quoteGenerationSocket where the host's quote generation service (QGS) listens, for the
   *     guest's GetQuote: {@code vsock:CID:PORT} (QGS's default is {@code vsock:2:4050}) or {@code
   *     unix:PATH}; empty when the host has none (then the guest cannot get quotes)
   */
  record Tdx(TdxFlavour flavour, Path firmware, Optional<String> quoteGenerationSocket) {
    private static final Pattern VSOCK = Pattern.compile("vsock:(\\d+):(\\d+)");

    Tdx {
      Objects.requireNonNull(flavour, "flavour");
      Objects.requireNonNull(firmware, "firmware");
      quoteGenerationSocket.ifPresent(Tdx::socketJson);
    }

    /** QEMU's SocketAddress in JSON, as the tdx-guest object's quote-generation-socket takes it. */
    static String socketJson(String socket) {
      Matcher m = VSOCK.matcher(socket);
      if (m.matches()) {
        return "{\"type\":\"vsock\",\"cid\":\""
            + m.group(1)
            + "\",\"port\":\""
            + m.group(2)
            + "\"}";
      }
      if (socket.startsWith("unix:") && socket.length() > 5) {
        return "{\"type\":\"unix\",\"path\":" + jsonString(socket.substring(5)) + "}";
      }
      throw new IllegalArgumentException(
          "quote generation socket \""
              + socket
              + "\" must be vsock:CID:PORT (QGS's default is vsock:2:4050) or unix:PATH");
    }
  }

  /**
   * One TD.
   *
   * @param qemu the {@code qemu-system-x86_64} binary
   * @param name the TD's ID (QEMU's {@code -name}, shown in {@code ps})
   * @param accel KVM or TCG; TDX needs KVM
   * @param memoryMb guest RAM
   * @param vcpus guest vCPUs
   * @param kernel {@code -kernel}
   * @param initrd {@code -initrd}
   * @param cmdline {@code -append}
   * @param consoleLog the file the serial console (kernel, init, agent output) is written to
   * @param pidFile where QEMU writes its PID
   * @param hostPort the loopback port on the host forwarded to {@code guestPort}
   * @param guestPort the agent's port inside the guest
   * @param fwCfg per-TD files for the guest by name under {@value #FW_CFG_PREFIX} (e.g. {@code
   *     host-cert.pem})
   * @param tdx the TDX options for {@code qemu-tdx}; empty for {@code qemu}
   */
  record Spec(
      Path qemu,
      String name,
      Accel accel,
      int memoryMb,
      int vcpus,
      Path kernel,
      Path initrd,
      String cmdline,
      Path consoleLog,
      Path pidFile,
      int hostPort,
      int guestPort,
      Map<String, Path> fwCfg,
      Optional<Tdx> tdx) {
    Spec {
      fwCfg = new TreeMap<>(fwCfg); // sorted: the same TD, the same command line
      if (tdx.isPresent() && accel != Accel.KVM) {
        throw new IllegalArgumentException("a TDX guest runs only under KVM, not " + accel);
      }
      if (memoryMb < 64 || vcpus < 1) {
        throw new IllegalArgumentException(
            "a TD needs at least 64 MB and 1 vCPU, got " + memoryMb + " MB and " + vcpus);
      }
    }
  }

  private QemuCommandLine() {}

  static List<String> build(Spec s) {
    List<String> a = new ArrayList<>();
    a.add(s.qemu().toString());
    a.addAll(List.of("-name", "confaas-" + s.name()));
    a.addAll(List.of("-accel", s.accel().option()));
    // TCG's "max" model has RDRAND, so the guest's RNG is ready at once, and what TCG can emulate.
    a.addAll(List.of("-cpu", s.accel() == Accel.KVM ? "host" : "max"));
    StringBuilder machine = new StringBuilder("q35");
    if (s.tdx().isPresent()) {
      machine.append(",kernel-irqchip=split,confidential-guest-support=tdx0,hpet=off");
      if (s.tdx().get().flavour() == TdxFlavour.PRIVATE_MEMFD) {
        machine.append(",memory-backend=ram0");
      }
    }
    a.addAll(List.of("-machine", machine.toString()));
    a.addAll(List.of("-m", s.memoryMb() + "M", "-smp", Integer.toString(s.vcpus())));
    s.tdx()
        .ifPresent(
            t -> {
              a.addAll(List.of("-object", tdxGuestObject(t)));
              if (t.flavour() == TdxFlavour.PRIVATE_MEMFD) {
                a.addAll(
                    List.of(
                        "-object",
                        "memory-backend-memfd-private,id=ram0,size=" + s.memoryMb() + "M"));
              }
              a.addAll(List.of("-bios", t.firmware().toString()));
            });
    a.addAll(List.of("-nodefaults", "-no-user-config", "-nographic", "-no-reboot"));
    a.addAll(List.of("-monitor", "none"));
    a.addAll(List.of("-chardev", "file,id=console,path=" + escape(s.consoleLog().toString())));
    a.addAll(List.of("-serial", "chardev:console"));
    a.addAll(List.of("-pidfile", s.pidFile().toString()));
    a.addAll(List.of("-kernel", s.kernel().toString()));
    a.addAll(List.of("-initrd", s.initrd().toString()));
    a.addAll(List.of("-append", s.cmdline()));
    a.addAll(
        List.of(
            "-netdev",
            "user,id=net0,hostfwd=tcp:127.0.0.1:" + s.hostPort() + "-:" + s.guestPort()));
    // romfile= : no iPXE option ROM to load and run; the kernel is booted directly.
    a.addAll(List.of("-device", "virtio-net-pci,netdev=net0,romfile="));
    s.fwCfg()
        .forEach(
            (name, file) ->
                a.addAll(
                    List.of(
                        "-fw_cfg",
                        "name=" + FW_CFG_PREFIX + name + ",file=" + escape(file.toString()))));
    return a;
  }

  /** {@code -object tdx-guest}: dotted options, or JSON when it has a socket address. */
  static String tdxGuestObject(Tdx t) {
    if (t.quoteGenerationSocket().isEmpty()) {
      return "tdx-guest,id=tdx0";
    }
    return "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":"
        + Tdx.socketJson(t.quoteGenerationSocket().get())
        + "}";
  }

  /** QEMU's option syntax: a comma in a value is written twice. */
  static String escape(String value) {
    return value.replace(",", ",,");
  }

  private static String jsonString(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
