package dev.confaas.cli;

import dev.confaas.pool.guest.GuestImage;
import dev.confaas.pool.guest.GuestImageBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code confaas guest build}: the kernel and initramfs the {@code qemu} and {@code qemu-tdx}
 * backends boot, built reproducibly from this installation's agent and the host's packages.
 */
@Command(
    name = "build",
    mixinStandardHelpOptions = true,
    description = {
      "Build the guest image TDs boot on the qemu and qemu-tdx backends.",
      "That is a kernel (Debian's linux-image-cloud-amd64 unless --kernel) and an",
      "initramfs holding init, busybox, a jlinked JRE and this installation's agent,",
      "and nothing else. The same inputs give the same bytes. Prints the SHA-384 of",
      "the kernel, the initrd and the command line."
    },
    footer = {
      "",
      "Examples:",
      "  confaas guest build --out guest/",
      "  confaas guest build --out guest/ --gzip \\",
      "      --kernel /boot/vmlinuz-6.1.0-31-cloud-amd64"
    })
final class GuestBuildCommand implements Callable<Integer> {
  private static final HexFormat HEX = HexFormat.of();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Where to write vmlinuz, initrd.img and guest-image.properties.")
  Path out;

  @Option(
      names = "--kernel",
      paramLabel = "FILE",
      description =
          "Kernel to boot (a bzImage; on a TDX host, its TDX-enabled guest kernel). Default: the"
              + " newest /boot/vmlinuz-*-cloud-amd64.")
  Path kernel;

  @Option(
      names = "--modules",
      paramLabel = "DIR",
      description =
          "The kernel's module directory (/lib/modules/RELEASE); default: found from the"
              + " kernel's release. Not needed for a kernel with virtio and fw_cfg built in.")
  Path modules;

  @Option(
      names = "--cmdline",
      paramLabel = "TEXT",
      description = "Kernel command line (default: " + GuestImageBuilder.DEFAULT_CMDLINE + ").")
  String cmdline;

  @Option(names = "--gzip", description = "Gzip the initramfs (smaller, slower to boot on TCG).")
  boolean gzip;

  @Option(
      names = "--cache",
      paramLabel = "DIR",
      description = "Where the jlinked JRE is cached (default: DIR/.cache).")
  Path cache;

  @Override
  public Integer call() {
    GuestImageBuilder b =
        GuestImageBuilder.forAgent(agentClassPath(), cache != null ? cache : out.resolve(".cache"));
    if (kernel != null) {
      b.kernel(kernel);
    }
    if (modules != null) {
      b.modules(modules);
    }
    if (cmdline != null) {
      b.cmdline(cmdline);
    }
    b.gzip(gzip);
    GuestImage image;
    try {
      image = b.build(out);
    } catch (IOException | RuntimeException e) {
      throw new Main.CliException("cannot build the guest image: " + e.getMessage(), e);
    }
    PrintWriter w = spec.commandLine().getOut();
    w.printf(
        "kernel   %s%n         sha384 %s%n", image.kernel(), HEX.formatHex(image.kernelSha384()));
    w.printf(
        "initrd   %s%n         sha384 %s%n", image.initrd(), HEX.formatHex(image.initrdSha384()));
    w.printf(
        "cmdline  %s%n         sha384 %s%n", image.cmdline(), HEX.formatHex(image.cmdlineSha384()));
    w.printf(
        "reference values for qemu-tdx: confaas guest measure --firmware /usr/share/ovmf/OVMF.fd"
            + " --kernel %s --initrd %s --cmdline '%s'%n",
        image.kernel(), image.initrd(), image.cmdline());
    w.flush();
    return 0;
  }

  private static java.util.List<Path> agentClassPath() {
    try {
      return GuestImageBuilder.agentClassPathOfThisJvm();
    } catch (IllegalStateException e) {
      throw new Main.CliException(e.getMessage(), e);
    }
  }
}
