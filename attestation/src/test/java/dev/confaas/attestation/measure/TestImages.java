package dev.confaas.attestation.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** Hand-built inputs for the measurement tests, and the Debian tools they are checked against. */
final class TestImages {
  static final int CHECKSUM = 0x98 + 64;
  static final int CERT_DIRECTORY = 0x98 + 112 + 4 * 8;

  private TestImages() {}

  /**
   * A 0x700-byte PE32+ EFI application: headers up to 0x200 (checksum set, so excluding it
   * matters), {@code .text} at file offset 0x400 listed before {@code .data} at 0x200 (so the
   * sections must be sorted by file offset), and 0x100 bytes after the sections that the hash
   * covers. Bytes from 0x200 on are a pattern, overlaid with a Linux setup header (boot protocol
   * 2.15, loadable above 4 GiB) so that it is also a minimal bzImage as QEMU sees one.
   */
  static byte[] efiStubKernel() {
    byte[] f = new byte[0x700];
    for (int i = 0x200; i < f.length; i++) {
      f[i] = (byte) (i * 7);
    }
    ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 0x5a4d).putInt(0x3c, 0x80);
    b.putInt(0x80, 0x00004550);
    b.putShort(0x84, (short) 0x8664).putShort(0x86, (short) 2);
    b.putShort(0x94, (short) 0xF0).putShort(0x96, (short) 0x22);
    int o = 0x98;
    b.putShort(o, (short) 0x20b).putInt(o + 16, 0x1000).putLong(o + 24, 0x400000);
    b.putInt(o + 32, 0x1000).putInt(o + 36, 0x200).putInt(o + 56, 0x3000);
    b.putInt(o + 60, 0x200).putInt(CHECKSUM, 0xdeadbeef).putShort(o + 68, (short) 10);
    b.putInt(o + 108, 16);
    int s = o + 0xF0;
    b.put(s, ".text".getBytes(StandardCharsets.US_ASCII));
    b.putInt(s + 8, 0x200).putInt(s + 12, 0x1000).putInt(s + 16, 0x200).putInt(s + 20, 0x400);
    s += 40;
    b.put(s, ".data".getBytes(StandardCharsets.US_ASCII));
    b.putInt(s + 8, 0x200).putInt(s + 12, 0x2000).putInt(s + 16, 0x200).putInt(s + 20, 0x200);
    // Linux setup header (Documentation/arch/x86/boot.rst)
    b.putInt(0x202, 0x53726448).putShort(0x206, (short) 0x020f);
    f[0x210] = 0;
    f[0x211] = 0x01; // LOADED_HIGH
    b.putShort(0x224, (short) 0).putInt(0x228, 0).putInt(0x218, 0).putInt(0x21c, 0);
    b.putInt(0x22c, 0x7fffffff).putShort(0x236, (short) 0x0040); // XLF_CAN_BE_LOADED_ABOVE_4G
    return f;
  }

  /**
   * A file a Debian package provides: returned when present; when absent, the test fails if it runs
   * as root (bin/ensure-debian-packages --tests would have installed it) and is skipped with the
   * reason otherwise.
   */
  static Path debianFile(Path file, String pkg) {
    if (Files.exists(file)) {
      return file;
    }
    String why =
        file
            + " is missing: install Debian's "
            + pkg
            + " (bin/ensure-debian-packages --tests does)";
    if ("root".equals(System.getProperty("user.name"))) {
      fail(why);
    }
    Assumptions.assumeTrue(false, why);
    return file;
  }

  static Path debianTool(String name, String pkg) {
    for (String dir : List.of("/usr/bin", "/usr/local/bin", "/bin")) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return debianFile(Path.of("/usr/bin", name), pkg);
  }

  /** Runs a command, failing the test with its output if it does not exit 0. */
  static String run(Path dir, String... command) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), String.join(" ", command) + " failed:\n" + out);
    return out;
  }
}
