package dev.confaas.cli;

import dev.confaas.attestation.measure.DirectBoot;
import dev.confaas.attestation.measure.PageAddOrder;
import dev.confaas.attestation.measure.Rtmr;
import dev.confaas.attestation.measure.TdvfFirmware;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code confaas guest}: the guest image TDs boot on the qemu and qemu-tdx backends. */
@Command(
    name = "guest",
    mixinStandardHelpOptions = true,
    description = "The guest image that TDs boot (qemu and qemu-tdx backends).",
    footer = {
      "",
      "Examples:",
      "  confaas guest build --out guest/",
      "  confaas guest measure --firmware /usr/share/ovmf/OVMF.fd \\",
      "      --kernel guest/vmlinuz --initrd guest/initrd.img --cmdline \"console=hvc0\""
    },
    subcommands = {GuestCommand.Measure.class, GuestBuildCommand.class, CommandLine.HelpCommand.class})
final class GuestCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas guest --help'");
  }

  static final String RTMR0_NOT_COMPUTED =
      "not computed: RTMR0 measures the TD HOB, the ACPI tables and the EFI variables that the"
          + " whole QEMU machine configuration (memory, CPUs, devices) produces; appraise it"
          + " against a value taken from a reference boot of the same configuration, or not at all";

  /** {@code confaas guest measure}: MRTD, RTMR1 and RTMR2 a TDX host will report for a guest. */
  @Command(
      name = "measure",
      mixinStandardHelpOptions = true,
      description = {
        "Compute the MRTD, RTMR1 and RTMR2 a TDX host reports for a guest.",
        "The guest is one QEMU boots with this TDVF firmware (-bios) and, for direct",
        "kernel boot, this kernel, initrd and command line: MRTD comes from the",
        "firmware's TDVF metadata, RTMR1 and RTMR2 from TDVF's boot events. RTMR0",
        "depends on the whole machine configuration and is not computed."
      },
      footer = {
        "",
        "Examples:",
        "  confaas guest measure --firmware /usr/share/ovmf/OVMF.fd",
        "  confaas guest measure --firmware /usr/share/ovmf/OVMF.fd \\",
        "      --kernel guest/vmlinuz --initrd guest/initrd.img \\",
        "      --cmdline \"console=hvc0\" --memory 4G --qemu-variant 8.2.2 --json"
      })
  static final class Measure implements Callable<Integer> {
    private static final HexFormat HEX = HexFormat.of();

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--firmware",
        required = true,
        paramLabel = "FILE",
        description = "TDVF firmware, e.g. /usr/share/ovmf/OVMF.fd (Debian's ovmf package).")
    Path firmware;

    @Option(
        names = "--kernel",
        paramLabel = "FILE",
        description = "Kernel for -kernel (a bzImage with EFI stub); without it only MRTD.")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initrd for -initrd.")
    Path initrd;

    @Option(
        names = "--cmdline",
        paramLabel = "TEXT",
        defaultValue = "",
        description = "Kernel command line as given to -append (default: empty).")
    String cmdline;

    @Option(
        names = "--memory",
        paramLabel = "SIZE",
        defaultValue = "2G",
        description =
            "Guest memory as given to -m (K, M, G, T suffixes; a plain number is MiB, as for"
                + " QEMU); the initrd's load address, which RTMR1 covers, depends on it"
                + " (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(
        names = "--qemu-variant",
        paramLabel = "VARIANT",
        defaultValue = "single-pass",
        description =
            "How the host adds the firmware's pages, which MRTD depends on: single-pass (QEMU >= 9,"
                + " upstream QEMU >= 10.1 with upstream KVM), two-pass (QEMU 8.x TDX builds), or a"
                + " QEMU version such as 8.2.2 (default: ${DEFAULT-VALUE}).")
    String qemuVariant;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      PageAddOrder order;
      long memoryBytes;
      try {
        order = PageAddOrder.parse(qemuVariant);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--qemu-variant: " + e.getMessage());
      }
      memoryBytes = parseMemory(memory);
      if (kernel == null && (initrd != null || !cmdline.isEmpty())) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--initrd and --cmdline need --kernel (direct kernel boot)");
      }
      TdvfFirmware fw;
      try {
        fw = TdvfFirmware.parse(read(firmware, "firmware"));
      } catch (IllegalArgumentException e) {
        throw new Main.CliException("firmware " + firmware + ": " + e.getMessage(), e);
      }
      byte[] mrtd = fw.mrtd(order);
      DirectBoot boot = null;
      if (kernel != null) {
        try {
          boot =
              DirectBoot.of(
                  read(kernel, "kernel"),
                  initrd == null ? new byte[0] : read(initrd, "initrd"),
                  cmdline,
                  memoryBytes);
        } catch (IllegalArgumentException e) {
          throw new Main.CliException(e.getMessage(), e);
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(CliJson.write(toJson(fw, mrtd, order, boot, memoryBytes)));
      } else {
        printText(out, fw, mrtd, order, boot, memoryBytes);
      }
      out.flush();
      return 0;
    }

    private Map<String, Object> toJson(
        TdvfFirmware fw, byte[] mrtd, PageAddOrder order, DirectBoot boot, long memoryBytes) {
      Map<String, Object> m = new LinkedHashMap<>();
      Map<String, Object> mr = new LinkedHashMap<>();
      mr.put("value", HEX.formatHex(mrtd));
      mr.put("firmware", firmware.toString());
      mr.put("pageAddOrder", order.id());
      mr.put("hosts", order.hosts());
      mr.put("pagesAdded", fw.pagesAdded());
      mr.put("bytesExtended", fw.bytesExtended());
      List<Object> sections = new ArrayList<>();
      for (TdvfFirmware.Section s : fw.sections()) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("type", s.type().name());
        j.put("address", "0x" + Long.toHexString(s.memoryAddress()));
        j.put("size", "0x" + Long.toHexString(s.memoryDataSize()));
        j.put("mrExtend", s.mrExtend());
        j.put("pageAug", s.pageAug());
        sections.add(j);
      }
      mr.put("sections", sections);
      m.put("mrtd", mr);
      Map<String, Object> rtmr0 = new LinkedHashMap<>();
      rtmr0.put("computed", false);
      rtmr0.put("why", RTMR0_NOT_COMPUTED);
      m.put("rtmr0", rtmr0);
      if (boot != null) {
        m.put("rtmr1", rtmrJson(boot.rtmr1()));
        m.put("rtmr2", rtmrJson(boot.rtmr2()));
        m.put("memoryBytes", memoryBytes);
        m.put("measuredCommandLine", boot.measuredCommandLine());
      }
      return m;
    }

    private static Map<String, Object> rtmrJson(Rtmr r) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("value", HEX.formatHex(r.value()));
      List<Object> events = new ArrayList<>();
      for (Rtmr.Event e : r.events()) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("digest", HEX.formatHex(e.digest()));
        j.put("description", e.description());
        events.add(j);
      }
      m.put("events", events);
      return m;
    }

    private void printText(
        PrintWriter out,
        TdvfFirmware fw,
        byte[] mrtd,
        PageAddOrder order,
        DirectBoot boot,
        long memoryBytes) {
      out.println("MRTD   " + HEX.formatHex(mrtd));
      out.println(
          "       TDVF firmware "
              + firmware
              + ": "
              + fw.pagesAdded()
              + " pages added, "
              + fw.bytesExtended()
              + " bytes extended, page order "
              + order.id()
              + " ("
              + order.hosts()
              + ")");
      for (TdvfFirmware.Section s : fw.sections()) {
        out.printf(
            Locale.ROOT,
            "         %-8s 0x%-10x +0x%-8x %s%n",
            s.type(),
            s.memoryAddress(),
            s.memoryDataSize(),
            s.mrExtend()
                ? "PAGE.ADD, MR.EXTEND"
                : s.pageAug() ? "PAGE.AUG (not measured)" : "PAGE.ADD");
      }
      out.println("RTMR0  " + RTMR0_NOT_COMPUTED);
      if (boot == null) {
        out.println("RTMR1  not computed: no --kernel (direct kernel boot)");
        out.println("RTMR2  not computed: no --kernel (direct kernel boot)");
        return;
      }
      printRtmr(out, boot.rtmr1());
      printRtmr(out, boot.rtmr2());
      out.println(
          "       for -m "
              + memoryBytes
              + " bytes; command line as measured: \""
              + boot.measuredCommandLine()
              + "\"");
    }

    private static void printRtmr(PrintWriter out, Rtmr r) {
      out.println("RTMR" + r.index() + "  " + HEX.formatHex(r.value()));
      for (Rtmr.Event e : r.events()) {
        out.println(
            "         " + HEX.formatHex(e.digest()).substring(0, 16) + "…  " + e.description());
      }
    }

    private long parseMemory(String text) {
      Matcher m =
          Pattern.compile("(\\d+)([KMGT]?)(i?B)?").matcher(text.trim().toUpperCase(Locale.ROOT));
      if (!m.matches()) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--memory: '" + text + "' is not a size like 2G, 4096M or 2048");
      }
      int shift =
          switch (m.group(2)) {
            case "K" -> 10;
            case "G" -> 30;
            case "T" -> 40;
            default -> 20; // M, or no suffix: MiB, as QEMU's -m reads it
          };
      long n = Long.parseLong(m.group(1));
      if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--memory: '" + text + "' is not a usable memory size");
      }
      return n << shift;
    }

    private static byte[] read(Path p, String what) {
      try {
        return Files.readAllBytes(p);
      } catch (NoSuchFileException e) {
        throw new Main.CliException(what + " " + p + " does not exist");
      } catch (IOException e) {
        throw new Main.CliException("cannot read " + what + " " + p + ": " + e.getMessage(), e);
      }
    }
  }
}
