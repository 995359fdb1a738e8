package dev.confaas.attestation.measure;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The kernel as TDVF receives it from QEMU's {@code -kernel}: QEMU writes its loader fields into
 * the Linux setup header (x86 boot protocol, Documentation/arch/x86/boot.rst) before handing the
 * image to the firmware over fw_cfg, so the bytes TDVF hashes are not the file's bytes. This
 * replays what QEMU's {@code x86_load_linux} writes for a bzImage on a q35 machine: loader type,
 * heap end, command-line address and, with an initrd, the initrd's address and size. The initrd
 * address depends on the guest's memory below 4 GiB, which is why RTMR1 depends on {@code -m}.
 */
final class QemuLinuxLoader {
  /** QEMU's q35 ACPI data area ({@code acpi_data_size}), reserved at the top of low memory. */
  static final long ACPI_DATA_SIZE = 0x20000 + 0x8000;

  private static final int SETUP_HEADER_END = 0x270;
  private static final int HDRS_MAGIC = 0x53726448; // "HdrS"
  private static final int LOADED_HIGH = 0x01;
  private static final int CAN_USE_HEAP = 0x80;
  private static final int XLF_CAN_BE_LOADED_ABOVE_4G = 0x40;
  private static final long REAL_ADDR = 0x10000;
  private static final long CMDLINE_ADDR = 0x20000;

  private QemuLinuxLoader() {}

  /** QEMU q35's guest RAM below 4 GiB for {@code -m memoryBytes}. */
  static long below4g(long memoryBytes) {
    long lowmem = memoryBytes >= 0xB000_0000L ? 0x8000_0000L : 0xB000_0000L;
    return Math.min(memoryBytes, lowmem);
  }

  /** The kernel image after QEMU patched its setup header for this initrd size and memory. */
  static byte[] patch(byte[] kernel, long initrdSize, long memoryBytes) {
    if (kernel.length < SETUP_HEADER_END) {
      throw new IllegalArgumentException(
          "the kernel is " + kernel.length + " bytes: too short to be a bzImage");
    }
    byte[] k = kernel.clone();
    ByteBuffer b = ByteBuffer.wrap(k).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(0x202) != HDRS_MAGIC) {
      throw new IllegalArgumentException(
          "the kernel has no Linux setup header (no \"HdrS\" at 0x202): give a bzImage"
              + " (vmlinuz), not a vmlinux ELF or a compressed file");
    }
    int protocol = Short.toUnsignedInt(b.getShort(0x206));
    if (protocol < 0x202 || (k[0x211] & LOADED_HIGH) == 0) {
      throw new IllegalArgumentException(
          "the kernel uses boot protocol "
              + (protocol >> 8)
              + "."
              + (protocol & 0xff)
              + " without a high load address; TDVF direct boot needs a modern bzImage with an EFI"
              + " stub");
    }
    k[0x210] = (byte) 0xb0; // type_of_loader: QEMU
    k[0x211] |= (byte) CAN_USE_HEAP;
    b.putShort(0x224, (short) (CMDLINE_ADDR - REAL_ADDR - 0x200)); // heap_end_ptr
    b.putInt(0x228, (int) CMDLINE_ADDR); // cmd_line_ptr
    if (initrdSize > 0) {
      long initrdMax;
      if (protocol >= 0x20c && (b.getShort(0x236) & XLF_CAN_BE_LOADED_ABOVE_4G) != 0) {
        initrdMax = 0xFFFF_FFFFL;
      } else if (protocol >= 0x203) {
        initrdMax = Integer.toUnsignedLong(b.getInt(0x22c));
        if (initrdMax == 0) {
          initrdMax = 0x37FF_FFFFL;
        }
      } else {
        initrdMax = 0x37FF_FFFFL;
      }
      long available = below4g(memoryBytes) - ACPI_DATA_SIZE;
      if (available <= 0) {
        throw new IllegalArgumentException(
            "guest memory " + memoryBytes + " bytes is too small to boot");
      }
      if (initrdMax >= available) {
        initrdMax = available - 1;
      }
      if (initrdSize >= initrdMax) {
        throw new IllegalArgumentException(
            "the initrd ("
                + initrdSize
                + " bytes) does not fit below 0x"
                + Long.toHexString(initrdMax)
                + " with this memory size; QEMU would refuse it too: give more --memory");
      }
      long initrdAddr = (initrdMax - initrdSize) & ~4095L;
      b.putInt(0x218, (int) initrdAddr); // ramdisk_image
      b.putInt(0x21c, (int) initrdSize); // ramdisk_size
    }
    return k;
  }
}
