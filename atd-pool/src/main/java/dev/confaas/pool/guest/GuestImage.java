package dev.confaas.pool.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A built guest image: what QEMU boots directly ({@code -kernel -initrd -append}) and what the host
 * must expect of it. Kept in a directory as {@value #KERNEL}, {@value #INITRD} and {@value
 * #DESCRIPTION} (the command line, the digests and the agent's measured artifacts).
 *
 * @param kernel the kernel QEMU boots (a bzImage; the TDX path needs its EFI stub)
 * @param initrd the initramfs (newc cpio) with init, busybox, the JRE and the agent
 * @param cmdline the kernel command line ({@code -append}); measured on TDX (RTMR2), so fixed here
 * @param agentPort the TCP port the agent listens on inside the guest
 * @param agentArtifactDigests SHA-384 of each of the agent's class path entries in the guest, in
 *     order ({@code AgentArtifacts}): what the simulated TDX module inside the guest measures into
 *     MRTD, as it does on the {@code process} backend
 */
public record GuestImage(
    Path kernel, Path initrd, String cmdline, int agentPort, List<byte[]> agentArtifactDigests) {
  public static final String KERNEL = "vmlinuz";
  public static final String INITRD = "initrd.img";
  public static final String DESCRIPTION = "guest-image.properties";

  public GuestImage {
    agentArtifactDigests = List.copyOf(agentArtifactDigests);
  }

  /** The image in {@code dir}, as {@link GuestImageBuilder#build} left it. */
  public static GuestImage load(Path dir) {
    Properties p = new Properties();
    Path file = dir.resolve(DESCRIPTION);
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(
          "no guest image in "
              + dir
              + " ("
              + DESCRIPTION
              + " is missing); build one with"
              + " 'confaas guest build --out "
              + dir
              + "'");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    List<byte[]> digests = new ArrayList<>();
    for (int i = 0; p.containsKey("agent.artifact." + i); i++) {
      digests.add(HexFormat.of().parseHex(p.getProperty("agent.artifact." + i)));
    }
    String cmdline = p.getProperty("cmdline");
    String port = p.getProperty("agent.port");
    if (cmdline == null || port == null || digests.isEmpty()) {
      throw new IllegalArgumentException(
          file + " lacks cmdline, agent.port or agent.artifact.0; build the image again");
    }
    return new GuestImage(
        dir.resolve(KERNEL), dir.resolve(INITRD), cmdline, Integer.parseInt(port), digests);
  }

  /** Writes {@value #DESCRIPTION} next to the kernel and initrd. */
  void save() throws IOException {
    TreeMap<String, String> p = new TreeMap<>();
    p.put("cmdline", cmdline);
    p.put("agent.port", Integer.toString(agentPort));
    for (int i = 0; i < agentArtifactDigests.size(); i++) {
      p.put("agent.artifact." + i, HexFormat.of().formatHex(agentArtifactDigests.get(i)));
    }
    p.put("kernel.sha384", hex(kernelSha384()));
    p.put("initrd.sha384", hex(initrdSha384()));
    p.put("cmdline.sha384", hex(cmdlineSha384()));
    // Written by hand, sorted and without the date Properties.store adds: reproducible too.
    StringBuilder b = new StringBuilder("# confaas guest image (written by confaas guest build)\n");
    p.forEach((k, v) -> b.append(k).append('=').append(escape(v)).append('\n'));
    Path file = kernel.resolveSibling(DESCRIPTION);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
    }
  }

  private static String escape(String v) {
    return v.replace("\\", "\\\\").replace("\n", "\\n");
  }

  /** SHA-384 of the kernel file. */
  public byte[] kernelSha384() {
    return GuestDigests.sha384(kernel);
  }

  /** SHA-384 of the initrd file. */
  public byte[] initrdSha384() {
    return GuestDigests.sha384(initrd);
  }

  /** SHA-384 of the command line's UTF-8 bytes. */
  public byte[] cmdlineSha384() {
    return GuestDigests.sha384(cmdline.getBytes(StandardCharsets.UTF_8));
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
