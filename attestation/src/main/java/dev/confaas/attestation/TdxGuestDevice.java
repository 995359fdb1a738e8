package dev.confaas.attestation;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Structure;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code /dev/tdx_guest} through JNA: TDX_CMD_GET_REPORT0 returns the TD's 1024-byte TDREPORT over
 * 64 bytes of REPORTDATA (Linux {@code include/uapi/linux/tdx-guest.h}). Works only inside a TDX
 * guest; the struct layout and ioctl number are unit-tested anywhere.
 */
final class TdxGuestDevice {
  static final int REPORT_DATA_LEN = 64;
  static final int TDREPORT_LEN = 1024;

  /** {@code struct tdx_report_req { __u8 reportdata[64]; __u8 tdreport[1024]; }}. */
  @Structure.FieldOrder({"reportdata", "tdreport"})
  public static final class TdxReportReq extends Structure {
    public byte[] reportdata = new byte[REPORT_DATA_LEN];
    public byte[] tdreport = new byte[TDREPORT_LEN];

    int offsetOf(String field) {
      return fieldOffset(field);
    }
  }

  /** Linux {@code _IOC} encoding (x86/arm64 generic): dir << 30 | size << 16 | type << 8 | nr. */
  static long ioc(int dir, char type, int nr, int size) {
    if (size >= (1 << 14)) {
      throw new IllegalArgumentException("ioctl argument size " + size + " exceeds 14 bits");
    }
    return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
  }

  static final int IOC_WRITE = 1;
  static final int IOC_READ = 2;

  /** {@code TDX_CMD_GET_REPORT0 = _IOWR('T', 1, struct tdx_report_req)}. */
  static final long TDX_CMD_GET_REPORT0 =
      ioc(IOC_READ | IOC_WRITE, 'T', 1, REPORT_DATA_LEN + TDREPORT_LEN);

  /** Offset of TDINFO in a TDREPORT (after REPORTMACSTRUCT 256, TEE_TCB_INFO 239, reserved 17). */
  static final int TDINFO_OFFSET = 512;

  /**
   * Offset of RTMR0 in a TDREPORT: TDINFO + ATTRIBUTES 8 + XFAM 8 + MRTD, MRCONFIGID, MROWNER,
   * MROWNERCONFIG.
   */
  static final int RTMR0_OFFSET = TDINFO_OFFSET + 8 + 8 + 4 * 48;

  interface LibC extends Library {
    int O_RDWR = 2;

    int open(String path, int flags) throws LastErrorException;

    int ioctl(int fd, NativeLong request, TdxReportReq arg) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private final Path device;

  TdxGuestDevice(Path device) {
    this.device = device;
  }

  /** The TDREPORT over {@code reportData}. */
  byte[] tdReport(byte[] reportData) {
    if (reportData.length != REPORT_DATA_LEN) {
      throw new IllegalArgumentException("REPORTDATA is 64 bytes, got " + reportData.length);
    }
    LibC libc = Native.load("c", LibC.class);
    TdxReportReq req = new TdxReportReq();
    System.arraycopy(reportData, 0, req.reportdata, 0, REPORT_DATA_LEN);
    int fd;
    try {
      fd = libc.open(device.toString(), LibC.O_RDWR);
    } catch (LastErrorException e) {
      throw new IllegalStateException(
          "cannot open "
              + device
              + " (errno "
              + e.getErrorCode()
              + "): not a TDX guest, or no permission",
          e);
    }
    try {
      libc.ioctl(fd, new NativeLong(TDX_CMD_GET_REPORT0), req);
      req.read();
      return req.tdreport.clone();
    } catch (LastErrorException e) {
      throw new IllegalStateException(
          "TDX_CMD_GET_REPORT0 on " + device + " failed (errno " + e.getErrorCode() + ")", e);
    } finally {
      libc.close(fd);
    }
  }

  /** RTMR0..3 as a TDREPORT states them. */
  static List<byte[]> rtmrs(byte[] tdReport) {
    return List.of(
        Arrays.copyOfRange(tdReport, RTMR0_OFFSET, RTMR0_OFFSET + 48),
        Arrays.copyOfRange(tdReport, RTMR0_OFFSET + 48, RTMR0_OFFSET + 96),
        Arrays.copyOfRange(tdReport, RTMR0_OFFSET + 96, RTMR0_OFFSET + 144),
        Arrays.copyOfRange(tdReport, RTMR0_OFFSET + 144, RTMR0_OFFSET + 192));
  }
}
