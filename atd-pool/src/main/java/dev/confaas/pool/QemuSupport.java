package dev.confaas.pool;

import dev.confaas.pool.QemuCommandLine.TdxFlavour;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a {@code qemu-system-x86_64} binary can do, from its own answers: {@code -version} and
 * {@code -object help} (the list of object types it can create, {@code tdx-guest} among them when
 * it was built with TDX).
 *
 * @param version e.g. {@code 10.1.0}, or {@code unknown}
 * @param objectTypes what {@code -object help} lists
 */
record QemuSupport(String version, Set<String> objectTypes) {
  private static final Pattern VERSION =
      Pattern.compile("QEMU emulator version (\\d+\\.\\d+(\\.\\d+)?)");

  QemuSupport {
    objectTypes = Set.copyOf(objectTypes);
  }

  /** Parses the output of {@code qemu -version} and {@code qemu -object help}. */
  static QemuSupport parse(String versionOutput, String objectHelp) {
    Matcher m = VERSION.matcher(versionOutput);
    String version = m.find() ? m.group(1) : "unknown";
    Set<String> types = new TreeSet<>();
    for (String line : objectHelp.split("\n")) {
      // "List of user creatable objects:" then one indented type name per line.
      if (line.startsWith(" ") && !line.isBlank()) {
        types.add(line.strip());
      }
    }
    return new QemuSupport(version, types);
  }

  /** Asks {@code qemu}. */
  static QemuSupport of(Path qemu) throws TdLaunchException {
    return parse(run(qemu, "-version"), run(qemu, "-object", "help"));
  }

  boolean hasTdx() {
    return objectTypes.contains("tdx-guest");
  }

  /**
   * The TDX flavour of this QEMU: {@link TdxFlavour#PRIVATE_MEMFD} when it has the {@code
   * memory-backend-memfd-private} object the early TDX trees need, else {@link
   * TdxFlavour#UPSTREAM}; empty without {@code tdx-guest}.
   */
  Optional<TdxFlavour> tdxFlavour() {
    if (!hasTdx()) {
      return Optional.empty();
    }
    return Optional.of(
        objectTypes.contains("memory-backend-memfd-private")
            ? TdxFlavour.PRIVATE_MEMFD
            : TdxFlavour.UPSTREAM);
  }

  /** The flavour, or a refusal that says what to install. */
  TdxFlavour requireTdx(Path qemu) throws TdLaunchException {
    return tdxFlavour()
        .orElseThrow(
            () ->
                new TdLaunchException(
                    qemu
                        + " (QEMU "
                        + version
                        + ") cannot start TDX guests: its '-object help' does not list tdx-guest."
                        + " The qemu-tdx backend needs upstream QEMU 10.1 or later, or a"
                        + " distribution's TDX build (e.g. Ubuntu's from canonical/tdx), on a host"
                        + " whose kernel has KVM with TDX enabled; on other hosts use --backend"
                        + " qemu"));
  }

  private static String run(Path qemu, String... args) throws TdLaunchException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(qemu.toString());
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      byte[] out;
      try (InputStream in = p.getInputStream()) {
        out = in.readAllBytes();
      }
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new TdLaunchException(String.join(" ", cmd) + " did not answer within 30 s");
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new TdLaunchException(
            String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + text.strip());
      }
      return text;
    } catch (IOException e) {
      throw new TdLaunchException(
          "cannot run "
              + qemu
              + " ("
              + e.getMessage()
              + "); install the Debian package qemu-system-x86 or name the binary",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TdLaunchException("interrupted asking " + qemu + " what it supports", e);
    }
  }
}
