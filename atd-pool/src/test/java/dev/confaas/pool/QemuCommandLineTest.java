package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.pool.QemuCommandLine.Accel;
import dev.confaas.pool.QemuCommandLine.Spec;
import dev.confaas.pool.QemuCommandLine.Tdx;
import dev.confaas.pool.QemuCommandLine.TdxFlavour;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The QEMU command lines of the qemu and qemu-tdx backends as data, per accelerator and TDX
 * flavour, and TDX support read from what QEMU itself says ({@code -version}, {@code -object
 * help}). No TDX host is needed: the lists are what the launcher would run.
 */
class QemuCommandLineTest {
  private static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");
  private static final Path OVMF = Path.of("/usr/share/ovmf/OVMF.fd");

  private static Spec spec(Accel accel, Optional<Tdx> tdx) {
    return new Spec(
        QEMU,
        "td-1",
        accel,
        1024,
        2,
        Path.of("/img/vmlinuz"),
        Path.of("/img/initrd.img"),
        "console=ttyS0 quiet panic=-1",
        Path.of("/pool/td-1/console.log"),
        Path.of("/pool/td-1/qemu.pid"),
        41234,
        7000,
        Map.of(
            "pki/root.pem", Path.of("/pool/simulated-pki/root.pem"),
            "host-cert.pem", Path.of("/pool/td-1/host-cert.pem")),
        tdx);
  }

  /** The options shared by every flavour: direct boot, console to file, the forwarded port. */
  private static final List<String> COMMON_TAIL =
      List.of(
          "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
          "-monitor", "none",
          "-chardev", "file,id=console,path=/pool/td-1/console.log",
          "-serial", "chardev:console",
          "-pidfile", "/pool/td-1/qemu.pid",
          "-kernel", "/img/vmlinuz",
          "-initrd", "/img/initrd.img",
          "-append", "console=ttyS0 quiet panic=-1",
          "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:41234-:7000",
          "-device", "virtio-net-pci,netdev=net0,romfile=");

  private static List<String> concat(List<String> a, List<String> b, List<String> c) {
    List<String> out = new java.util.ArrayList<>(a);
    out.addAll(b);
    out.addAll(c);
    return out;
  }

  @Test
  void tcgEmulatesTheMaxCpuOnQ35WithTheSimulatedPkiThroughFwCfg() {
    List<String> expected =
        concat(
            List.of(
                QEMU.toString(), "-name", "confaas-td-1",
                "-accel", "tcg", "-cpu", "max",
                "-machine", "q35",
                "-m", "1024M", "-smp", "2"),
            COMMON_TAIL,
            List.of(
                // sorted by name: the same TD gives the same command line
                "-fw_cfg", "name=opt/confaas/host-cert.pem,file=/pool/td-1/host-cert.pem",
                "-fw_cfg", "name=opt/confaas/pki/root.pem,file=/pool/simulated-pki/root.pem"));
    assertEquals(expected, QemuCommandLine.build(spec(Accel.TCG, Optional.empty())));
  }

  @Test
  void kvmPassesTheHostCpuThrough() {
    List<String> args = QemuCommandLine.build(spec(Accel.KVM, Optional.empty()));
    assertEquals(List.of("-accel", "kvm", "-cpu", "host"), args.subList(3, 7));
    assertFalse(String.join(" ", args).contains("tdx"), args.toString());
  }

  @Test
  void upstreamTdxAddsTheGuestObjectSplitIrqchipAndTdvf() {
    Tdx tdx = new Tdx(TdxFlavour.UPSTREAM, OVMF, Optional.empty());
    List<String> expected =
        concat(
            List.of(
                QEMU.toString(), "-name", "confaas-td-1",
                "-accel", "kvm", "-cpu", "host",
                "-machine", "q35,kernel-irqchip=split,confidential-guest-support=tdx0,hpet=off",
                "-m", "1024M", "-smp", "2",
                "-object", "tdx-guest,id=tdx0",
                "-bios", "/usr/share/ovmf/OVMF.fd"),
            COMMON_TAIL,
            List.of(
                "-fw_cfg", "name=opt/confaas/host-cert.pem,file=/pool/td-1/host-cert.pem",
                "-fw_cfg", "name=opt/confaas/pki/root.pem,file=/pool/simulated-pki/root.pem"));
    assertEquals(expected, QemuCommandLine.build(spec(Accel.KVM, Optional.of(tdx))));
  }

  @Test
  void aQuoteGenerationSocketMakesTheTdxObjectJson() {
    Tdx vsock = new Tdx(TdxFlavour.UPSTREAM, OVMF, Optional.of("vsock:2:4050"));
    assertEquals(
        "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":"
            + "{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"4050\"}}",
        QemuCommandLine.tdxGuestObject(vsock));
    Tdx unix = new Tdx(TdxFlavour.UPSTREAM, OVMF, Optional.of("unix:/var/run/tdx-qgs/qgs.socket"));
    assertEquals(
        "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":"
            + "{\"type\":\"unix\",\"path\":\"/var/run/tdx-qgs/qgs.socket\"}}",
        QemuCommandLine.tdxGuestObject(unix));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Tdx(TdxFlavour.UPSTREAM, OVMF, Optional.of("tcp:localhost:4050")));
    assertTrue(e.getMessage().contains("vsock:CID:PORT"), e.getMessage());
  }

  @Test
  void privateMemfdTreesNameTheirPrivateMemoryBackend() {
    Tdx tdx = new Tdx(TdxFlavour.PRIVATE_MEMFD, OVMF, Optional.of("vsock:2:4050"));
    List<String> args = QemuCommandLine.build(spec(Accel.KVM, Optional.of(tdx)));
    assertEquals(
        List.of(
            "-machine",
            "q35,kernel-irqchip=split,confidential-guest-support=tdx0,hpet=off,memory-backend=ram0"),
        args.subList(7, 9));
    int object = args.indexOf("memory-backend-memfd-private,id=ram0,size=1024M");
    assertTrue(object > 0 && args.get(object - 1).equals("-object"), args.toString());
    assertEquals("/usr/share/ovmf/OVMF.fd", args.get(args.indexOf("-bios") + 1));
  }

  @Test
  void tdxNeedsKvmAndCommasInPathsAreEscaped() {
    Tdx tdx = new Tdx(TdxFlavour.UPSTREAM, OVMF, Optional.empty());
    assertThrows(IllegalArgumentException.class, () -> spec(Accel.TCG, Optional.of(tdx)));
    assertEquals("file,id=console,path=/a,,b/console.log",
        "file,id=console,path=" + QemuCommandLine.escape("/a,b/console.log"));
  }

  // --- support detection, from real outputs --------------------------------------------------

  /** Debian 12's QEMU 7.2: no TDX. */
  private static final String DEBIAN_VERSION =
      "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"
          + "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n";

  /** Its {@code -object help}, verbatim. */
  private static final String DEBIAN_OBJECTS =
      String.join(
          "\n",
          "List of user creatable objects:",
          "  authz-list",
          "  authz-list-file",
          "  authz-simple",
          "  can-bus",
          "  can-host-socketcan",
          "  colo-compare",
          "  cryptodev-backend",
          "  cryptodev-backend-builtin",
          "  cryptodev-vhost-user",
          "  dbus-vmstate",
          "  filter-buffer",
          "  filter-dump",
          "  filter-mirror",
          "  filter-redirector",
          "  filter-replay",
          "  filter-rewriter",
          "  input-barrier",
          "  input-linux",
          "  iothread",
          "  main-loop",
          "  memory-backend-file",
          "  memory-backend-memfd",
          "  memory-backend-ram",
          "  pr-manager-helper",
          "  qtest",
          "  rng-builtin",
          "  rng-egd",
          "  rng-random",
          "  secret",
          "  secret_keyring",
          "  sev-guest",
          "  thread-context",
          "  throttle-group",
          "  tls-cipher-suites",
          "  tls-creds-anon",
          "  tls-creds-psk",
          "  tls-creds-x509",
          "  x-remote-object",
          "");

  @Test
  void aQemuWithoutTdxGuestIsRefusedSayingWhatToInstall() {
    QemuSupport s = QemuSupport.parse(DEBIAN_VERSION, DEBIAN_OBJECTS);
    assertEquals("7.2.22", s.version());
    assertTrue(s.objectTypes().contains("sev-guest"));
    assertFalse(s.hasTdx());
    TdLaunchException e = assertThrows(TdLaunchException.class, () -> s.requireTdx(QEMU));
    assertTrue(e.getMessage().contains("does not list tdx-guest"), e.getMessage());
    assertTrue(e.getMessage().contains("QEMU 7.2.22"), e.getMessage());
    assertTrue(e.getMessage().contains("10.1"), e.getMessage());
  }

  @Test
  void upstreamAndDistributionTdxBuildsAreTold() throws Exception {
    QemuSupport upstream =
        QemuSupport.parse(
            "QEMU emulator version 10.1.0\n",
            DEBIAN_OBJECTS + "  tdx-guest\n");
    assertEquals(TdxFlavour.UPSTREAM, upstream.requireTdx(QEMU));
    // A distribution build on guest_memfd (an 8.2 with TDX patches): same options as upstream.
    QemuSupport ubuntu =
        QemuSupport.parse(
            "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4+tdx1.0)\n",
            DEBIAN_OBJECTS + "  tdx-guest\n");
    assertEquals(TdxFlavour.UPSTREAM, ubuntu.requireTdx(QEMU));
    assertEquals("8.2.2", ubuntu.version());
    QemuSupport staging =
        QemuSupport.parse(
            "QEMU emulator version 8.0.50 (v8.0.0-tdx)\n",
            DEBIAN_OBJECTS + "  memory-backend-memfd-private\n  tdx-guest\n");
    assertEquals(TdxFlavour.PRIVATE_MEMFD, staging.requireTdx(QEMU));
  }

  @Test
  void theInstalledQemuIsAskedForReal() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.nio.file.Files.isExecutable(QEMU), "qemu-system-x86 is not installed");
    QemuSupport s = QemuSupport.of(QEMU);
    assertTrue(s.version().matches("\\d+\\.\\d+(\\.\\d+)?"), s.version());
    assertTrue(s.objectTypes().contains("memory-backend-ram"), s.objectTypes().toString());
  }
}
