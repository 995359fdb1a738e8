package dev.confaas.attestation.measure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class TdvfFirmwareTest {
  private static final HexFormat HEX = HexFormat.of();
  static final Path DEBIAN_OVMF = Path.of("/usr/share/ovmf/OVMF.fd");

  // The GUIDs of the OVMF table footer and the TDX metadata entry, as bytes on disk.
  private static final byte[] FOOTER = HEX.parseHex("de82b596b21ff745baeaa366c55a082d");
  private static final byte[] TDX_METADATA = HEX.parseHex("35657ae44a989847865e4685a7bf8ec2");

  /**
   * A 64 KiB firmware image laid out like OVMF's: the TDVF descriptor in the middle, a GUIDed table
   * (an unrelated entry, the TDX metadata entry, the footer) ending 0x20 bytes before the end. Its
   * sections: a 2-page BFV at offset 0x1000 (MR.EXTEND), a 1-page CFV (added, not extended), a
   * 1-page TD HOB and a 2-page TempMem that the guest accepts itself (PAGE.AUG).
   */
  static byte[] syntheticFirmware() {
    byte[] img = new byte[0x10000];
    for (int i = 0x1000; i < 0x4000; i++) {
      img[i] = (byte) (i * 31 + 7);
    }
    ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
    int desc = 0x8000;
    b.put(desc, "TDVF".getBytes(StandardCharsets.US_ASCII));
    b.putInt(desc + 4, 16 + 32 * 4).putInt(desc + 8, 1).putInt(desc + 12, 4);
    section(b, desc, 0, 0x1000, 0x2000, 0xFFFF0000L, 0x2000, 0, 1); // BFV, MR.EXTEND
    section(b, desc, 1, 0x3000, 0x1000, 0xFFFE0000L, 0x1000, 1, 0); // CFV
    section(b, desc, 2, 0, 0, 0x809000L, 0x1000, 2, 0); // TD_HOB
    section(b, desc, 3, 0, 0, 0x900000L, 0x2000, 3, 2); // TempMem, PAGE.AUG
    int end = img.length - 0x20;
    // footer entry: u16 total table length, GUID
    int footerLen = 18;
    int metaLen = 4 + 18;
    int otherLen = 6 + 18;
    System.arraycopy(FOOTER, 0, img, end - 16, 16);
    b.putShort(end - 18, (short) (footerLen + metaLen + otherLen));
    int metaEnd = end - footerLen;
    System.arraycopy(TDX_METADATA, 0, img, metaEnd - 16, 16);
    b.putShort(metaEnd - 18, (short) metaLen);
    b.putInt(metaEnd - metaLen, img.length - desc); // offset from the end
    int otherEnd = metaEnd - metaLen;
    Arrays.fill(img, otherEnd - 16, otherEnd, (byte) 0x5a);
    b.putShort(otherEnd - 18, (short) otherLen);
    return img;
  }

  private static void section(
      ByteBuffer b, int desc, int i, int off, int raw, long addr, long size, int type, int attr) {
    int at = desc + 16 + 32 * i;
    b.putInt(at, off).putInt(at + 4, raw).putLong(at + 8, addr).putLong(at + 16, size);
    b.putInt(at + 24, type).putInt(at + 28, attr);
  }

  /** The TDX module's 128-byte measurement block, spelled out independently of the code. */
  private static byte[] block(String tag, long gpa) {
    byte[] out = new byte[128];
    byte[] t = tag.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(t, 0, out, 0, t.length);
    for (int i = 0; i < 8; i++) {
      out[16 + i] = (byte) (gpa >>> (8 * i));
    }
    return out;
  }

  private static void extendPage(ByteArrayOutputStream m, byte[] img, long gpa, int fileOffset) {
    for (int c = 0; c < 16; c++) {
      m.writeBytes(block("MR.EXTEND", gpa + 256L * c));
      m.write(img, fileOffset + 256 * c, 256);
    }
  }

  @Test
  void parsesTheSectionsOfACraftedImage() {
    TdvfFirmware fw = TdvfFirmware.parse(syntheticFirmware());
    List<TdvfFirmware.Section> s = fw.sections();
    assertEquals(4, s.size());
    assertEquals(TdvfFirmware.SectionType.BFV, s.get(0).type());
    assertTrue(s.get(0).mrExtend());
    assertEquals(0xFFFF0000L, s.get(0).memoryAddress());
    assertEquals(TdvfFirmware.SectionType.TEMP_MEM, s.get(3).type());
    assertTrue(s.get(3).pageAug());
    assertEquals(4, fw.pagesAdded(), "BFV 2 + CFV 1 + TD_HOB 1; the PAGE.AUG TempMem is not added");
    assertEquals(0x2000, fw.bytesExtended());
  }

  @Test
  void singlePassMrtdIsPageAddThenExtendPerPage() throws Exception {
    byte[] img = syntheticFirmware();
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFF0000L));
    extendPage(m, img, 0xFFFF0000L, 0x1000);
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFF1000L));
    extendPage(m, img, 0xFFFF1000L, 0x2000);
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFE0000L));
    m.writeBytes(block("MEM.PAGE.ADD", 0x809000L));
    byte[] expected = MessageDigest.getInstance("SHA-384").digest(m.toByteArray());
    assertArrayEquals(expected, TdvfFirmware.parse(img).mrtd(PageAddOrder.SINGLE_PASS));
  }

  @Test
  void twoPassMrtdAddsASectionsPagesBeforeExtendingThem() throws Exception {
    byte[] img = syntheticFirmware();
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFF0000L));
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFF1000L));
    extendPage(m, img, 0xFFFF0000L, 0x1000);
    extendPage(m, img, 0xFFFF1000L, 0x2000);
    m.writeBytes(block("MEM.PAGE.ADD", 0xFFFE0000L));
    m.writeBytes(block("MEM.PAGE.ADD", 0x809000L));
    byte[] expected = MessageDigest.getInstance("SHA-384").digest(m.toByteArray());
    TdvfFirmware fw = TdvfFirmware.parse(img);
    assertArrayEquals(expected, fw.mrtd(PageAddOrder.TWO_PASS));
    assertFalse(Arrays.equals(fw.mrtd(PageAddOrder.SINGLE_PASS), fw.mrtd(PageAddOrder.TWO_PASS)));
  }

  @Test
  void mrtdCoversTheExtendedBytesButNotTheOthers() {
    byte[] img = syntheticFirmware();
    byte[] base = TdvfFirmware.parse(img).mrtd(PageAddOrder.SINGLE_PASS);
    byte[] bfvChanged = img.clone();
    bfvChanged[0x2fff] ^= 1; // last byte of the BFV
    assertFalse(Arrays.equals(base, TdvfFirmware.parse(bfvChanged).mrtd(PageAddOrder.SINGLE_PASS)));
    byte[] cfvChanged = img.clone();
    cfvChanged[0x3000] ^= 1; // the CFV is added but not extended: the variable store may change
    assertArrayEquals(base, TdvfFirmware.parse(cfvChanged).mrtd(PageAddOrder.SINGLE_PASS));
  }

  @Test
  void refusesImagesWithoutTdvfMetadataSayingWhy() {
    IllegalArgumentException noTable =
        assertThrows(IllegalArgumentException.class, () -> TdvfFirmware.parse(new byte[8192]));
    assertTrue(noTable.getMessage().contains("GUIDed table"), noTable.getMessage());

    byte[] noTdx = syntheticFirmware();
    int metaGuid = noTdx.length - 0x20 - 18 - 16;
    noTdx[metaGuid] ^= 1;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TdvfFirmware.parse(noTdx));
    assertTrue(e.getMessage().contains("without TDX support"), e.getMessage());

    byte[] unaligned = syntheticFirmware();
    ByteBuffer.wrap(unaligned).order(ByteOrder.LITTLE_ENDIAN).putLong(0x8000 + 16 + 8, 0xFFFF0800L);
    e = assertThrows(IllegalArgumentException.class, () -> TdvfFirmware.parse(unaligned));
    assertTrue(e.getMessage().contains("4 KiB pages"), e.getMessage());
  }

  @Test
  void pageAddOrderFollowsTheQemuVersion() {
    assertEquals(PageAddOrder.TWO_PASS, PageAddOrder.parse("8.2.2"));
    assertEquals(PageAddOrder.SINGLE_PASS, PageAddOrder.parse("9.1.0"));
    assertEquals(PageAddOrder.SINGLE_PASS, PageAddOrder.parse("qemu-10.1"));
    assertEquals(PageAddOrder.TWO_PASS, PageAddOrder.parse("two-pass"));
    assertThrows(IllegalArgumentException.class, () -> PageAddOrder.parse("7.2"));
    assertThrows(IllegalArgumentException.class, () -> PageAddOrder.parse("fast"));
  }

  /**
   * Debian's {@code ovmf} package (bin/ensure-debian-packages --tests installs it). Its sections
   * are the ones dstack-mr's own tests list for the OVMF they measure (TempMem 0x800000+0x6000,
   * TD_HOB 0x809000+0x2000, TempMem 0x80b000+0x2000 and 0x810000+0x10000), which checks the parsing
   * against an outside source. The MRTD values were computed when this test was written by this
   * code and by an independent Python script, for the package 2022.11-6+deb12u2; no published MRTD
   * for this build exists to compare with.
   */
  @Test
  void measuresDebiansOvmf() throws Exception {
    byte[] image = Files.readAllBytes(TestImages.debianFile(DEBIAN_OVMF, "ovmf"));
    TdvfFirmware fw = TdvfFirmware.parse(image);
    List<TdvfFirmware.Section> s = fw.sections();
    assertEquals(6, s.size());
    assertEquals(TdvfFirmware.SectionType.BFV, s.get(0).type());
    assertTrue(s.get(0).mrExtend());
    assertEquals(TdvfFirmware.SectionType.CFV, s.get(1).type());
    assertFalse(s.get(1).mrExtend());
    assertEquals(
        List.of(
            "TEMP_MEM@810000+10000",
            "TEMP_MEM@80b000+2000",
            "TD_HOB@809000+2000",
            "TEMP_MEM@800000+6000"),
        s.subList(2, 6).stream()
            .map(
                x ->
                    x.type()
                        + "@"
                        + Long.toHexString(x.memoryAddress())
                        + "+"
                        + Long.toHexString(x.memoryDataSize()))
            .toList());
    byte[] single = fw.mrtd(PageAddOrder.SINGLE_PASS);
    assertArrayEquals(single, TdvfFirmware.parse(image).mrtd(PageAddOrder.SINGLE_PASS));
    String sha256 = HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(image));
    if (sha256.equals("7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773")) {
      assertEquals(
          "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057"
              + "fb887fed0744d5631a212967fb231c47",
          HEX.formatHex(single));
      assertEquals(
          "acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b3"
              + "3db3b32e6924cba830a724eed443f7e1",
          HEX.formatHex(fw.mrtd(PageAddOrder.TWO_PASS)));
    } else {
      System.err.println(
          "OVMF.fd is not the 2022.11-6+deb12u2 build the pinned MRTDs were computed for"
              + " (sha256 "
              + sha256
              + "); checked parsing and stability only");
    }
  }
}
