package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.attestation.measure.DirectBoot;
import dev.confaas.attestation.measure.PageAddOrder;
import dev.confaas.attestation.measure.TdvfFirmware;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestMeasureCliTest {
  static final Path OVMF = Path.of("/usr/share/ovmf/OVMF.fd");
  private static final HexFormat HEX = HexFormat.of();

  @BeforeAll
  static void debianOvmfIsInstalled() {
    if (!Files.exists(OVMF)) {
      String why = OVMF + " is missing: install Debian's ovmf (bin/ensure-debian-packages --tests)";
      if ("root".equals(System.getProperty("user.name"))) {
        fail(why);
      }
      Assumptions.assumeTrue(false, why);
    }
  }

  /** A minimal EFI-stub bzImage: PE32+ headers, one section, a Linux setup header at 0x1f1. */
  static byte[] kernel() {
    byte[] f = new byte[0x600];
    for (int i = 0x200; i < f.length; i++) {
      f[i] = (byte) (i * 13);
    }
    ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 0x5a4d).putInt(0x3c, 0x80).putInt(0x80, 0x00004550);
    b.putShort(0x84, (short) 0x8664).putShort(0x86, (short) 1).putShort(0x94, (short) 0xF0);
    b.putShort(0x98, (short) 0x20b).putInt(0x98 + 60, 0x200).putInt(0x98 + 108, 16);
    int s = 0x98 + 0xF0;
    b.putInt(s + 8, 0x400).putInt(s + 12, 0x1000).putInt(s + 16, 0x400).putInt(s + 20, 0x200);
    b.putInt(0x202, 0x53726448).putShort(0x206, (short) 0x020f);
    f[0x210] = 0;
    f[0x211] = 0x01;
    b.putShort(0x236, (short) 0x0040);
    return f;
  }

  @Test
  void printsMrtdOfDebiansTdvfForEachQemuVariant() throws Exception {
    TdvfFirmware fw = TdvfFirmware.parse(Files.readAllBytes(OVMF));
    CliRun single = CliRun.of("guest", "measure", "--firmware", OVMF.toString());
    assertEquals(0, single.code, single.toString());
    assertTrue(
        single.out.contains("MRTD   " + HEX.formatHex(fw.mrtd(PageAddOrder.SINGLE_PASS))),
        single.toString());
    assertTrue(single.out.contains("RTMR0  not computed"), single.toString());

    CliRun qemu8 =
        CliRun.of("guest", "measure", "--firmware", OVMF.toString(), "--qemu-variant", "8.2.2");
    assertEquals(0, qemu8.code, qemu8.toString());
    assertTrue(
        qemu8.out.contains("MRTD   " + HEX.formatHex(fw.mrtd(PageAddOrder.TWO_PASS))),
        qemu8.toString());
  }

  @Test
  void printsRtmr1AndRtmr2ForDirectBootAsJson(@TempDir Path dir) throws Exception {
    Path k = Files.write(dir.resolve("vmlinuz"), kernel());
    byte[] initrdBytes = "not really a cpio".getBytes();
    Path i = Files.write(dir.resolve("initrd"), initrdBytes);
    CliRun r =
        CliRun.of(
            "guest",
            "measure",
            "--firmware",
            OVMF.toString(),
            "--kernel",
            k.toString(),
            "--initrd",
            i.toString(),
            "--cmdline",
            "console=hvc0 quiet",
            "--memory",
            "4096",
            "--json");
    assertEquals(0, r.code, r.toString());
    JsonNode j = new ObjectMapper().readTree(r.out);
    DirectBoot expected = DirectBoot.of(kernel(), initrdBytes, "console=hvc0 quiet", 4L << 30);
    assertEquals(HEX.formatHex(expected.rtmr1().value()), j.at("/rtmr1/value").asText());
    assertEquals(HEX.formatHex(expected.rtmr2().value()), j.at("/rtmr2/value").asText());
    assertEquals(5, j.at("/rtmr1/events").size());
    assertEquals("console=hvc0 quiet initrd=initrd", j.at("/measuredCommandLine").asText());
    assertEquals(4L << 30, j.at("/memoryBytes").asLong());
    assertFalse(j.at("/rtmr0/computed").asBoolean(true));
    assertEquals("single-pass", j.at("/mrtd/pageAddOrder").asText());
    assertEquals(6, j.at("/mrtd/sections").size());
  }

  @Test
  void saysWhatIsWrongWithTheInputs(@TempDir Path dir) throws Exception {
    Path notFirmware = Files.write(dir.resolve("bios.bin"), new byte[8192]);
    CliRun r = CliRun.of("guest", "measure", "--firmware", notFirmware.toString());
    assertEquals(1, r.code, r.toString());
    assertTrue(r.err.contains("GUIDed table"), r.toString());

    Path notKernel = Files.write(dir.resolve("vmlinux"), new byte[8192]);
    r =
        CliRun.of(
            "guest", "measure", "--firmware", OVMF.toString(), "--kernel", notKernel.toString());
    assertEquals(1, r.code, r.toString());
    assertTrue(r.err.contains("bzImage"), r.toString());

    r = CliRun.of("guest", "measure", "--firmware", OVMF.toString(), "--qemu-variant", "7.2");
    assertEquals(2, r.code, r.toString());
    assertTrue(r.err.contains("no TDX support"), r.toString());

    r = CliRun.of("guest", "measure", "--firmware", OVMF.toString(), "--memory", "lots");
    assertEquals(2, r.code, r.toString());
  }
}
