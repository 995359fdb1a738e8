package dev.confaas.attestation.measure;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Authenticode hash of a PE/COFF image (Microsoft PE Format, "Calculating the PE Image Hash")
 * in the variant TDVF uses to measure an EFI application it starts (edk2 {@code
 * OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c}): the headers without the checksum and the
 * certificate-table directory entry, then the sections' raw data in file order, then whatever
 * follows them except the certificate table. No padding is added: edk2 hashes the image as loaded.
 */
final class Authenticode {
  private static final int SECURITY_DIRECTORY = 4;

  private Authenticode() {}

  static byte[] sha384(byte[] image) {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    int pe = 0;
    if (image.length >= 0x40 && b.getShort(0) == 0x5a4d) { // "MZ"
      pe = b.getInt(0x3c);
    }
    require(pe >= 0 && pe + 24 <= image.length, "the PE header offset points outside the file");
    require(
        b.getInt(pe) == 0x00004550,
        "no PE signature: the kernel is not a PE/COFF (EFI stub)"
            + " image; TDVF can only boot a kernel built with CONFIG_EFI_STUB");
    int sectionCount = Short.toUnsignedInt(b.getShort(pe + 6));
    int optionalSize = Short.toUnsignedInt(b.getShort(pe + 20));
    int opt = pe + 24;
    require(opt + 2 <= image.length, "the PE optional header is cut off");
    int magic = Short.toUnsignedInt(b.getShort(opt));
    require(
        magic == 0x10b || magic == 0x20b,
        "unknown PE optional header magic 0x" + Integer.toHexString(magic));
    boolean plus = magic == 0x20b;
    int checksum = opt + 64;
    int rvaCountAt = opt + (plus ? 108 : 92);
    int directories = opt + (plus ? 112 : 96);
    require(directories <= image.length, "the PE optional header is cut off");
    long sizeOfHeaders = Integer.toUnsignedLong(b.getInt(opt + 60));
    long rvaCount = Integer.toUnsignedLong(b.getInt(rvaCountAt));
    int certEntry = directories + SECURITY_DIRECTORY * 8;
    boolean hasCertEntry = rvaCount > SECURITY_DIRECTORY;
    require(
        sizeOfHeaders <= image.length
            && sizeOfHeaders >= (hasCertEntry ? certEntry + 8 : checksum + 4),
        "SizeOfHeaders " + sizeOfHeaders + " does not fit the file");

    MessageDigest h = Digests.sha384();
    h.update(image, 0, checksum);
    long certSize = 0;
    if (hasCertEntry) {
      h.update(image, checksum + 4, certEntry - (checksum + 4));
      h.update(image, certEntry + 8, (int) sizeOfHeaders - (certEntry + 8));
      certSize = Integer.toUnsignedLong(b.getInt(certEntry + 4));
    } else {
      h.update(image, checksum + 4, (int) sizeOfHeaders - (checksum + 4));
    }

    int table = opt + optionalSize;
    require(table + 40L * sectionCount <= image.length, "the PE section table is cut off");
    List<long[]> sections = new ArrayList<>();
    for (int i = 0; i < sectionCount; i++) {
      int s = table + 40 * i;
      long size = Integer.toUnsignedLong(b.getInt(s + 16));
      long pointer = Integer.toUnsignedLong(b.getInt(s + 20));
      if (size > 0) {
        require(
            pointer + size <= image.length,
            "PE section " + i + " reaches past the end of" + " the file: the image is truncated");
        sections.add(new long[] {pointer, size});
      }
    }
    sections.sort(Comparator.comparingLong(s -> s[0]));
    long hashed = sizeOfHeaders;
    for (long[] s : sections) {
      h.update(image, (int) s[0], (int) s[1]);
      hashed += s[1];
    }
    if (image.length > hashed) {
      require(
          image.length >= hashed + certSize,
          "the certificate table size " + certSize + " is larger than the data after the sections");
      h.update(image, (int) hashed, (int) (image.length - certSize - hashed));
    }
    return h.digest();
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
