package dev.confaas.attestation.measure;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * RTMR1 and RTMR2 of a TD that TDVF boots straight into a Linux kernel (QEMU {@code -kernel},
 * {@code -initrd}, {@code -append}), replayed from the events of TDVF's CC event log. The event
 * list follows Dstack-TEE/dstack's {@code dstack-mr}, whose values are compared with real TDX
 * hosts:
 *
 * <ul>
 *   <li>RTMR1 (PCR 2–6): the kernel's PE/COFF Authenticode SHA-384 as TDVF loads it (the setup
 *       header as QEMU patched it), then {@code "Calling EFI Application from Boot Option"}, the
 *       separator (four zero bytes), {@code "Exit Boot Services Invocation"} and {@code "Exit Boot
 *       Services Returned with Success"}, each digest being SHA-384 of the ASCII string.
 *   <li>RTMR2 (PCR 8–15): written by the kernel's EFI stub through the CC measurement protocol: the
 *       load options (the command line as OVMF passes it — with {@code " initrd=initrd"} appended
 *       when there is an initrd — in UTF-16LE with a terminating NUL), then the initrd's bytes. A
 *       kernel whose EFI stub predates CC measurement leaves RTMR2 at zero.
 * </ul>
 */
public final class DirectBoot {
  /** What OVMF appends to the command line when QEMU gives it an initrd. */
  public static final String INITRD_SUFFIX = " initrd=initrd";

  private final Rtmr rtmr1;
  private final Rtmr rtmr2;
  private final String measuredCommandLine;

  private DirectBoot(Rtmr rtmr1, Rtmr rtmr2, String measuredCommandLine) {
    this.rtmr1 = rtmr1;
    this.rtmr2 = rtmr2;
    this.measuredCommandLine = measuredCommandLine;
  }

  /**
   * Measures a direct boot.
   *
   * @param kernel the bzImage given to {@code -kernel} (with an EFI stub)
   * @param initrd the file given to {@code -initrd}, or an empty array for none
   * @param commandLine the {@code -append} string, printable ASCII
   * @param memoryBytes the guest memory ({@code -m}); the initrd's load address, which QEMU writes
   *     into the kernel before TDVF hashes it, depends on it
   * @throws IllegalArgumentException if the kernel is not an EFI-stub bzImage, the initrd does not
   *     fit, or the command line is not printable ASCII
   */
  public static DirectBoot of(byte[] kernel, byte[] initrd, String commandLine, long memoryBytes) {
    for (int i = 0; i < commandLine.length(); i++) {
      char c = commandLine.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException(
            "the kernel command line has a non-printable or non-ASCII character at column "
                + i
                + "; QEMU and OVMF pass it as ASCII, so give it in ASCII");
      }
    }
    byte[] patched = QemuLinuxLoader.patch(kernel, initrd.length, memoryBytes);
    Rtmr rtmr1 =
        new Rtmr(
            1,
            List.of(
                new Rtmr.Event(
                    "EV_EFI_BOOT_SERVICES_APPLICATION: Authenticode SHA-384 of the kernel with the"
                        + " setup header QEMU writes for a "
                        + initrd.length
                        + "-byte initrd and "
                        + memoryBytes
                        + " bytes of memory",
                    Authenticode.sha384(patched)),
                action("Calling EFI Application from Boot Option"),
                new Rtmr.Event("EV_SEPARATOR: 00000000", Digests.sha384(new byte[4])),
                action("Exit Boot Services Invocation"),
                action("Exit Boot Services Returned with Success")));
    String measured = initrd.length > 0 ? commandLine + INITRD_SUFFIX : commandLine;
    byte[] utf16 = (measured + "\0").getBytes(StandardCharsets.UTF_16LE);
    Rtmr.Event cmdline =
        new Rtmr.Event(
            "EV_EVENT_TAG LOADED_IMAGE::LoadOptions: UTF-16LE of \"" + measured + "\" and NUL",
            Digests.sha384(utf16));
    Rtmr rtmr2 =
        initrd.length > 0
            ? new Rtmr(
                2,
                List.of(
                    cmdline,
                    new Rtmr.Event(
                        "EV_EVENT_TAG Linux initrd: SHA-384 of the "
                            + initrd.length
                            + "-byte initrd",
                        Digests.sha384(initrd))))
            : new Rtmr(2, List.of(cmdline));
    return new DirectBoot(rtmr1, rtmr2, measured);
  }

  private static Rtmr.Event action(String text) {
    return new Rtmr.Event(
        "EV_EFI_ACTION: \"" + text + "\"",
        Digests.sha384(text.getBytes(StandardCharsets.US_ASCII)));
  }

  public Rtmr rtmr1() {
    return rtmr1;
  }

  public Rtmr rtmr2() {
    return rtmr2;
  }

  /** The command line as the EFI stub sees and measures it. */
  public String measuredCommandLine() {
    return measuredCommandLine;
  }
}
