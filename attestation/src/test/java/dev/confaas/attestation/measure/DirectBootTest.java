package dev.confaas.attestation.measure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DirectBootTest {
  private static final long GIB = 1L << 30;

  private static byte[] sha384(byte[]... parts) throws Exception {
    MessageDigest h = MessageDigest.getInstance("SHA-384");
    for (byte[] p : parts) {
      h.update(p);
    }
    return h.digest();
  }

  /**
   * The kernel as QEMU hands it to TDVF for a 1 MiB initrd and 2 GiB, written out field by field.
   */
  private static byte[] patchedFor1MibInitrdAnd2Gib(byte[] kernel) {
    byte[] k = kernel.clone();
    ByteBuffer b = ByteBuffer.wrap(k).order(ByteOrder.LITTLE_ENDIAN);
    k[0x210] = (byte) 0xb0;
    k[0x211] = (byte) 0x81;
    b.putShort(0x224, (short) 0xfe00); // 0x20000 - 0x10000 - 0x200
    b.putInt(0x228, 0x20000);
    // below 4G = 2 GiB, less QEMU's 0x28000 of ACPI data, less one, minus the initrd, page-aligned
    b.putInt(0x218, 0x7fed7000);
    b.putInt(0x21c, 0x100000);
    return k;
  }

  @Test
  void rtmr1IsTheKernelAsQemuPatchedItThenTheFixedBootEvents() throws Exception {
    byte[] kernel = TestImages.efiStubKernel();
    byte[] initrd = new byte[0x100000];
    DirectBoot boot = DirectBoot.of(kernel, initrd, "console=hvc0", 2 * GIB);

    Rtmr rtmr1 = boot.rtmr1();
    assertEquals(5, rtmr1.events().size());
    assertArrayEquals(
        Authenticode.sha384(patchedFor1MibInitrdAnd2Gib(kernel)), rtmr1.events().get(0).digest());
    assertFalse(Arrays.equals(Authenticode.sha384(kernel), rtmr1.events().get(0).digest()));
    byte[] r = new byte[48];
    r = sha384(r, rtmr1.events().get(0).digest());
    r =
        sha384(
            r,
            sha384("Calling EFI Application from Boot Option".getBytes(StandardCharsets.US_ASCII)));
    r = sha384(r, sha384(new byte[4]));
    r = sha384(r, sha384("Exit Boot Services Invocation".getBytes(StandardCharsets.US_ASCII)));
    r =
        sha384(
            r,
            sha384("Exit Boot Services Returned with Success".getBytes(StandardCharsets.US_ASCII)));
    assertArrayEquals(r, rtmr1.value());
  }

  @Test
  void rtmr2IsTheCommandLineOvmfPassesInUtf16ThenTheInitrd() throws Exception {
    byte[] initrd = "an initrd".getBytes(StandardCharsets.US_ASCII);
    DirectBoot boot = DirectBoot.of(TestImages.efiStubKernel(), initrd, "quiet", 2 * GIB);
    assertEquals("quiet initrd=initrd", boot.measuredCommandLine());
    String measured = "quiet initrd=initrd";
    byte[] utf16 = new byte[2 * measured.length() + 2];
    for (int i = 0; i < measured.length(); i++) {
      utf16[2 * i] = (byte) measured.charAt(i);
    }
    byte[] r = sha384(new byte[48], sha384(utf16));
    r = sha384(r, sha384(initrd));
    assertArrayEquals(r, boot.rtmr2().value());

    DirectBoot noInitrd = DirectBoot.of(TestImages.efiStubKernel(), new byte[0], "quiet", 2 * GIB);
    assertEquals("quiet", noInitrd.measuredCommandLine());
    assertEquals(1, noInitrd.rtmr2().events().size());
  }

  @Test
  void rtmr1DependsOnMemoryOnlyThroughTheInitrdAddress() {
    byte[] kernel = TestImages.efiStubKernel();
    byte[] initrd = new byte[4096];
    byte[] at1g = DirectBoot.of(kernel, initrd, "", GIB).rtmr1().value();
    byte[] at2g = DirectBoot.of(kernel, initrd, "", 2 * GIB).rtmr1().value();
    byte[] at2_75g = DirectBoot.of(kernel, initrd, "", 0xB000_0000L).rtmr1().value();
    byte[] at8g = DirectBoot.of(kernel, initrd, "", 8 * GIB).rtmr1().value();
    assertFalse(Arrays.equals(at1g, at2g));
    // q35 puts at most 2 GiB below 4 GiB once RAM reaches 2.75 GiB, so these load the initrd alike
    assertArrayEquals(at2g, at2_75g);
    assertArrayEquals(at2g, at8g);
    byte[] noInitrd1g = DirectBoot.of(kernel, new byte[0], "", GIB).rtmr1().value();
    assertArrayEquals(noInitrd1g, DirectBoot.of(kernel, new byte[0], "", 8 * GIB).rtmr1().value());
  }

  @Test
  void refusesInputsQemuOrOvmfWouldNotBootAsGiven() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DirectBoot.of(new byte[0x2000], new byte[0], "", GIB));
    assertTrue(e.getMessage().contains("HdrS"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DirectBoot.of(TestImages.efiStubKernel(), new byte[0], "café", GIB));
    assertTrue(e.getMessage().contains("column 3"), e.getMessage());
  }
}
