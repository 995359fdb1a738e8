package dev.confaas.attestation.measure;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A TDVF firmware image (OVMF built with TDX support, e.g. Debian's {@code
 * /usr/share/ovmf/OVMF.fd}) and the MRTD a TDX module computes when QEMU loads it.
 *
 * <p>The TDVF metadata (TDX Virtual Firmware Design Guide, section "TDVF Metadata") lists the
 * regions the host must place in the TD before it runs: firmware volumes copied from the image
 * (BFV, CFV) and zeroed memory (TD HOB, temporary memory). QEMU finds it through OVMF's GUIDed
 * table at the end of the image: the table ends with a footer GUID 0x20 bytes before the end, each
 * entry is {@code data ‖ u16 length ‖ GUID} read backwards, and the entry with the TDX metadata
 * GUID holds the descriptor's offset from the end of the image.
 */
public final class TdvfFirmware {
  static final int PAGE = 4096;
  static final int EXTEND_CHUNK = 256;
  static final int ATTR_MR_EXTEND = 0x1;
  static final int ATTR_PAGE_AUG = 0x2;

  // GUIDs in their on-disk (mixed-endian) byte order.
  private static final byte[] TABLE_FOOTER_GUID = guid("96b582de-1fb2-45f7-baea-a366c55a082d");
  private static final byte[] TDX_METADATA_OFFSET_GUID =
      guid("e47a6535-984a-4798-865e-4685a7bf8ec2");
  private static final int TABLE_FOOTER_FROM_END = 0x20;
  private static final int GUID_ENTRY_OVERHEAD = 2 + 16;
  private static final int DESCRIPTOR_SIZE = 16;
  private static final int SECTION_SIZE = 32;

  /** TDVF section types, by their value in the metadata. */
  public enum SectionType {
    BFV,
    CFV,
    TD_HOB,
    TEMP_MEM,
    PERM_MEM,
    PAYLOAD,
    PAYLOAD_PARAM;

    /** Whether QEMU maps this section straight from the firmware file rather than zeroed RAM. */
    boolean backedByImage() {
      return this == BFV || this == CFV;
    }
  }

  /**
   * One TDVF metadata section: {@code rawDataSize} bytes at {@code dataOffset} in the image are
   * placed at guest-physical {@code memoryAddress}, which spans {@code memoryDataSize} bytes.
   */
  public record Section(
      int index,
      long dataOffset,
      long rawDataSize,
      long memoryAddress,
      long memoryDataSize,
      SectionType type,
      int attributes) {

    /** Whether the host extends MRTD with this section's contents ({@code TDH.MR.EXTEND}). */
    public boolean mrExtend() {
      return (attributes & ATTR_MR_EXTEND) != 0;
    }

    /**
     * Whether the guest accepts these pages itself after boot ({@code TDH.MEM.PAGE.AUG}), so they
     * are not added, nor measured, before the TD runs.
     */
    public boolean pageAug() {
      return (attributes & ATTR_PAGE_AUG) != 0;
    }

    public long pages() {
      return memoryDataSize / PAGE;
    }
  }

  private final byte[] image;
  private final List<Section> sections;

  private TdvfFirmware(byte[] image, List<Section> sections) {
    this.image = image;
    this.sections = List.copyOf(sections);
  }

  /**
   * Parses the TDVF metadata of a firmware image.
   *
   * @throws IllegalArgumentException naming what is missing or inconsistent, e.g. for an OVMF build
   *     without TDX support
   */
  public static TdvfFirmware parse(byte[] image) {
    byte[] img = image.clone();
    int descriptor = descriptorOffset(img);
    ByteBuffer b = le(img);
    int count = b.getInt(descriptor + 12);
    long length = Integer.toUnsignedLong(b.getInt(descriptor + 4));
    int version = b.getInt(descriptor + 8);
    if (version != 1) {
      throw new IllegalArgumentException(
          "TDVF metadata version " + version + " is not supported (only version 1 is defined)");
    }
    if (count < 0
        || count > 1024
        || length < DESCRIPTOR_SIZE + (long) SECTION_SIZE * count
        || descriptor + DESCRIPTOR_SIZE + (long) SECTION_SIZE * count > img.length) {
      throw new IllegalArgumentException(
          "TDVF metadata at offset "
              + descriptor
              + " claims "
              + Integer.toUnsignedString(count)
              + " sections in "
              + length
              + " bytes, which does not fit the "
              + img.length
              + "-byte image: the firmware file is truncated or corrupt");
    }
    List<Section> sections = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int at = descriptor + DESCRIPTOR_SIZE + SECTION_SIZE * i;
      sections.add(
          section(
              i,
              Integer.toUnsignedLong(b.getInt(at)),
              Integer.toUnsignedLong(b.getInt(at + 4)),
              b.getLong(at + 8),
              b.getLong(at + 16),
              b.getInt(at + 24),
              b.getInt(at + 28),
              img.length));
    }
    if (sections.isEmpty()) {
      throw new IllegalArgumentException(
          "TDVF metadata lists no sections: nothing would be loaded");
    }
    return new TdvfFirmware(img, sections);
  }

  private static Section section(
      int i, long dataOffset, long raw, long address, long size, int type, int attrs, int imgLen) {
    String where = "TDVF section " + i + ": ";
    if (type < 0 || type >= SectionType.values().length) {
      throw new IllegalArgumentException(where + "unknown section type " + type);
    }
    SectionType t = SectionType.values()[type];
    if (address % PAGE != 0 || size % PAGE != 0 || size <= 0) {
      throw new IllegalArgumentException(
          where
              + t
              + " at 0x"
              + Long.toHexString(address)
              + " size 0x"
              + Long.toHexString(size)
              + " is not a whole number of 4 KiB pages");
    }
    if (raw > size) {
      throw new IllegalArgumentException(
          where + t + " has more raw data (" + raw + ") than memory (" + size + ")");
    }
    long imageBytes = t.backedByImage() ? size : raw;
    if (dataOffset + imageBytes > imgLen) {
      throw new IllegalArgumentException(
          where + t + " reaches past the end of the " + imgLen + "-byte image");
    }
    if ((attrs & ATTR_MR_EXTEND) != 0 && (attrs & ATTR_PAGE_AUG) != 0) {
      throw new IllegalArgumentException(
          where
              + t
              + " is both MR.EXTEND and PAGE.AUG: a page added after boot cannot be measured");
    }
    return new Section(i, dataOffset, raw, address, size, t, attrs);
  }

  private static int descriptorOffset(byte[] img) {
    int footer = img.length - TABLE_FOOTER_FROM_END - 16;
    if (footer < 2 || !Arrays.equals(img, footer, footer + 16, TABLE_FOOTER_GUID, 0, 16)) {
      throw new IllegalArgumentException(
          "no OVMF GUIDed table at the end of the "
              + img.length
              + "-byte image (footer GUID 96b582de-... missing): this is not an OVMF/TDVF image,"
              + " or it was built without TDX support");
    }
    ByteBuffer b = le(img);
    int total = Short.toUnsignedInt(b.getShort(footer - 2));
    int tableStart = footer + 16 - total;
    if (total < GUID_ENTRY_OVERHEAD || tableStart < 0) {
      throw new IllegalArgumentException(
          "the OVMF GUIDed table claims " + total + " bytes, which does not fit the image");
    }
    int p = footer - 2; // entries end where the footer's own length field starts
    while (p - tableStart >= GUID_ENTRY_OVERHEAD) {
      int len = Short.toUnsignedInt(b.getShort(p - GUID_ENTRY_OVERHEAD));
      if (len < GUID_ENTRY_OVERHEAD || len > p - tableStart) {
        throw new IllegalArgumentException(
            "the OVMF GUIDed table has an entry of length " + len + " that does not fit the table");
      }
      if (Arrays.equals(img, p - 16, p, TDX_METADATA_OFFSET_GUID, 0, 16)) {
        if (len < GUID_ENTRY_OVERHEAD + 4) {
          throw new IllegalArgumentException("the TDX metadata entry holds no offset");
        }
        long fromEnd = Integer.toUnsignedLong(b.getInt(p - len));
        long at = img.length - fromEnd;
        if (fromEnd > img.length || at + DESCRIPTOR_SIZE > img.length) {
          throw new IllegalArgumentException(
              "the TDX metadata offset " + fromEnd + " points outside the image");
        }
        if (!"TDVF".equals(new String(img, (int) at, 4, StandardCharsets.US_ASCII))) {
          throw new IllegalArgumentException(
              "no TDVF descriptor signature at offset " + at + " named by the TDX metadata entry");
        }
        return (int) at;
      }
      p -= len;
    }
    throw new IllegalArgumentException(
        "the OVMF GUIDed table has no TDX metadata entry (GUID e47a6535-...): this OVMF was built"
            + " without TDX support; use a TDVF build (Debian's ovmf package, or"
            + " OvmfPkg/IntelTdx)");
  }

  public List<Section> sections() {
    return sections;
  }

  /**
   * MRTD as the TDX module computes it when the host adds the sections in {@code order} and then
   * finalizes: one SHA-384 over a 128-byte block per {@code TDH.MEM.PAGE.ADD} ({@code
   * "MEM.PAGE.ADD"} at 0, the page's GPA little-endian at 16, zeros elsewhere) and, for sections
   * with MR.EXTEND, per 256-byte chunk a 128-byte {@code "MR.EXTEND"} block with the chunk's GPA
   * followed by the chunk.
   */
  public byte[] mrtd(PageAddOrder order) {
    MessageDigest h = Digests.sha384();
    for (Section s : sections) {
      long pages = s.pages();
      if (order == PageAddOrder.TWO_PASS) {
        for (long p = 0; p < pages; p++) {
          pageAdd(h, s, p);
        }
        for (long p = 0; p < pages; p++) {
          extend(h, s, p);
        }
      } else {
        for (long p = 0; p < pages; p++) {
          pageAdd(h, s, p);
          extend(h, s, p);
        }
      }
    }
    return h.digest();
  }

  /** How many pages the host adds before the TD runs (all but PAGE.AUG sections). */
  public long pagesAdded() {
    return sections.stream().filter(s -> !s.pageAug()).mapToLong(Section::pages).sum();
  }

  /** How many bytes of section contents go into MRTD. */
  public long bytesExtended() {
    return sections.stream().filter(Section::mrExtend).mapToLong(s -> s.memoryDataSize()).sum();
  }

  private static void pageAdd(MessageDigest h, Section s, long page) {
    if (!s.pageAug()) {
      h.update(block("MEM.PAGE.ADD", s.memoryAddress() + page * PAGE));
    }
  }

  private void extend(MessageDigest h, Section s, long page) {
    if (!s.mrExtend()) {
      return;
    }
    for (int c = 0; c < PAGE / EXTEND_CHUNK; c++) {
      long offsetInSection = page * PAGE + (long) c * EXTEND_CHUNK;
      h.update(block("MR.EXTEND", s.memoryAddress() + offsetInSection));
      h.update(contents(s, offsetInSection));
    }
  }

  /** What the TD's memory holds at this offset of the section when it is measured. */
  private byte[] contents(Section s, long offsetInSection) {
    byte[] chunk = new byte[EXTEND_CHUNK];
    // QEMU maps firmware volumes from the image over their whole memory size; other sections
    // are RAM it zeroes, into which only the raw data is copied.
    long fromImage = s.type().backedByImage() ? s.memoryDataSize() : s.rawDataSize();
    long n = Math.max(0, Math.min(EXTEND_CHUNK, fromImage - offsetInSection));
    System.arraycopy(image, (int) (s.dataOffset() + offsetInSection), chunk, 0, (int) n);
    return chunk;
  }

  static byte[] block(String tag, long gpa) {
    byte[] b = new byte[128];
    byte[] t = tag.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(t, 0, b, 0, t.length);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(16, gpa);
    return b;
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A GUID's 16 bytes as stored on disk: the first three fields little-endian. */
  static byte[] guid(String text) {
    String[] f = text.split("-");
    ByteBuffer b = ByteBuffer.allocate(16);
    b.order(ByteOrder.LITTLE_ENDIAN)
        .putInt((int) Long.parseLong(f[0], 16))
        .putShort((short) Integer.parseInt(f[1], 16))
        .putShort((short) Integer.parseInt(f[2], 16));
    String rest = f[3] + f[4];
    for (int i = 0; i < 16; i += 2) {
      b.put((byte) Integer.parseInt(rest.substring(i, i + 2), 16));
    }
    return b.array();
  }
}
