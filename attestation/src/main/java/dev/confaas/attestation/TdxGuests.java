package dev.confaas.attestation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Finds the TDX interfaces of the Linux guest this process runs in and builds a {@link TdxGuest} on
 * them: quotes through configfs-tsm ({@code sys/kernel/config/tsm/report}), TDREPORTs through
 * {@code dev/tdx_guest}, RTMR values and extension through {@code
 * sys/class/misc/tdx_guest/measurements/rtmr<i>:sha384} where the kernel offers it. All paths are
 * resolved under an injectable root (normally {@code /}) so tests can use a fake tree.
 *
 * <p>These interfaces work for real only on TDX hardware inside a TD; elsewhere use {@link
 * SimulatedTdxModule}.
 */
public final class TdxGuests {
  static final String TSM_REPORT = "sys/kernel/config/tsm/report";
  static final String TDX_GUEST_DEVICE = "dev/tdx_guest";
  static final String MEASUREMENTS = "sys/class/misc/tdx_guest/measurements";

  private TdxGuests() {}

  /** Which TDX guest interfaces exist under {@code root}. */
  public record Detection(boolean configfsTsm, boolean tdxGuestDevice, boolean rtmrSysfs) {
    /** True if quotes can be had (configfs-tsm is the upstream kernel's only quote path). */
    public boolean canQuote() {
      return configfsTsm;
    }

    @Override
    public String toString() {
      List<String> have = new ArrayList<>();
      if (configfsTsm) {
        have.add("configfs-tsm");
      }
      if (tdxGuestDevice) {
        have.add("/dev/tdx_guest");
      }
      if (rtmrSysfs) {
        have.add("RTMR sysfs");
      }
      return have.isEmpty() ? "no TDX guest interface" : String.join(", ", have);
    }
  }

  public static Detection detect(Path root) {
    return new Detection(
        Files.isDirectory(root.resolve(TSM_REPORT)),
        Files.exists(root.resolve(TDX_GUEST_DEVICE)),
        Files.isDirectory(root.resolve(MEASUREMENTS)));
  }

  /**
   * A guest on the interfaces under {@code root}; fails with what is missing if it cannot quote.
   */
  public static TdxGuest open(Path root) {
    Detection d = detect(root);
    if (!d.canQuote()) {
      throw new IllegalStateException(
          "no configfs-tsm under "
              + root.resolve(TSM_REPORT)
              + " (found: "
              + d
              + "): this is not a"
              + " TDX guest with a quote-capable kernel; use the simulated TDX module instead");
    }
    AtomicLong counter = new AtomicLong();
    long pid = ProcessHandle.current().pid();
    return new LinuxTdxGuest(
        root,
        d,
        new ConfigfsTsmQuotes(
            root.resolve(TSM_REPORT), () -> "confaas-" + pid + "-" + counter.incrementAndGet()));
  }

  /** The Linux guest: configfs-tsm quotes, RTMRs via sysfs or, for reading, a TDREPORT. */
  static final class LinuxTdxGuest implements TdxGuest {
    private final Path root;
    private final Detection detection;
    private final ConfigfsTsmQuotes quotes;

    LinuxTdxGuest(Path root, Detection detection, ConfigfsTsmQuotes quotes) {
      this.root = root;
      this.detection = detection;
      this.quotes = quotes;
    }

    @Override
    public byte[] getQuote(byte[] reportData) {
      return quotes.quote(reportData);
    }

    private Path rtmrFile(int index) {
      return root.resolve(MEASUREMENTS).resolve("rtmr" + index + ":sha384");
    }

    @Override
    public void extendRtmr(int index, byte[] digest) {
      if (index < 0 || index > 3) {
        throw new IllegalArgumentException("RTMR index must be 0..3, got " + index);
      }
      if (digest.length != 48) {
        throw new IllegalArgumentException("an RTMR extend takes a 48-byte SHA-384 digest");
      }
      if (!detection.rtmrSysfs()) {
        throw new UnsupportedOperationException(
            "this kernel has no "
                + root.resolve(MEASUREMENTS)
                + ": RTMR extension from user space"
                + " needs Linux 6.16+ (tdx_guest measurements sysfs)");
      }
      try {
        Files.write(rtmrFile(index), digest);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "extending RTMR" + index + " through " + rtmrFile(index) + " failed", e);
      }
    }

    @Override
    public List<byte[]> rtmrs() {
      if (detection.rtmrSysfs()) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          try {
            out.add(Files.readAllBytes(rtmrFile(i)));
          } catch (IOException e) {
            throw new UncheckedIOException("reading " + rtmrFile(i) + " failed", e);
          }
        }
        return out;
      }
      if (detection.tdxGuestDevice()) {
        return TdxGuestDevice.rtmrs(
            new TdxGuestDevice(root.resolve(TDX_GUEST_DEVICE)).tdReport(new byte[64]));
      }
      throw new UnsupportedOperationException(
          "neither RTMR sysfs nor /dev/tdx_guest under " + root);
    }
  }
}
