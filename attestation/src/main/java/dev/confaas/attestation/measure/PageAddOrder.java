package dev.confaas.attestation.measure;

import java.util.Locale;

/**
 * The order in which the host adds and measures a TDVF section's pages; MRTD depends on it, and it
 * is decided by the host's QEMU and KVM, not by the firmware. Both orders go section by section, in
 * the order of the TDVF metadata.
 */
public enum PageAddOrder {
  /**
   * Per page: {@code TDH.MEM.PAGE.ADD}, then that page's sixteen {@code TDH.MR.EXTEND}s. Upstream
   * KVM (Linux ≥ 6.16, {@code KVM_TDX_INIT_MEM_REGION}) with QEMU ≥ 9, including upstream QEMU ≥
   * 10.1 and the TDX builds of QEMU 9.
   */
  SINGLE_PASS("single-pass", "QEMU >= 9; upstream QEMU >= 10.1 with upstream KVM TDX"),
  /**
   * Per section: every page's {@code TDH.MEM.PAGE.ADD}, then every page's {@code TDH.MR.EXTEND}s.
   * The QEMU 8.x TDX builds with their out-of-tree KVM (e.g. canonical/tdx on Ubuntu 24.04).
   */
  TWO_PASS("two-pass", "QEMU 8.x TDX builds with out-of-tree KVM TDX");

  private final String id;
  private final String hosts;

  PageAddOrder(String id, String hosts) {
    this.id = id;
    this.hosts = hosts;
  }

  /** The name used on the command line and in JSON: {@code single-pass} or {@code two-pass}. */
  public String id() {
    return id;
  }

  /** Which hosts add pages in this order, for output that says what a value assumed. */
  public String hosts() {
    return hosts;
  }

  /**
   * Parses {@code single-pass}, {@code two-pass}, or a QEMU version such as {@code 8.2.2} or {@code
   * 10.1} (8.x is two-pass, 9 and later single-pass).
   */
  public static PageAddOrder parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    for (PageAddOrder o : values()) {
      if (o.id.equals(t)) {
        return o;
      }
    }
    String version = t.startsWith("qemu-") ? t.substring(5) : t;
    if (version.matches("\\d+(\\.\\d+){0,2}")) {
      int major = Integer.parseInt(version.split("\\.")[0]);
      if (major < 8) {
        throw new IllegalArgumentException(
            "QEMU " + version + " has no TDX support; TDX needs a QEMU 8.x TDX build or QEMU >= 9");
      }
      return major == 8 ? TWO_PASS : SINGLE_PASS;
    }
    throw new IllegalArgumentException(
        "'"
            + text
            + "' is not a page-add order: use single-pass, two-pass or a QEMU version such as 8.2.2"
            + " or 10.1");
  }
}
