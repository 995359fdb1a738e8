package dev.confaas.attestation;

import java.util.List;

/**
 * The TD report body of a quote: the measurements of the trust domain. Body type 2 (TDX 1.0, 584
 * bytes, the only body of a v4 quote) or type 3 (TDX 1.5, 648 bytes: adds TEE_TCB_SVN2 and
 * MRSERVICETD). For type 2, {@link #teeTcbSvn2()} and {@link #mrServiceTd()} are null.
 *
 * <p>Layout: Intel TDX DCAP Quote Generation Library, "TD Quote Body" (little-endian fields).
 */
public record TdReport(
    int bodyType,
    byte[] teeTcbSvn,
    byte[] mrSeam,
    byte[] mrSignerSeam,
    byte[] seamAttributes,
    byte[] tdAttributes,
    byte[] xfam,
    byte[] mrTd,
    byte[] mrConfigId,
    byte[] mrOwner,
    byte[] mrOwnerConfig,
    List<byte[]> rtmrs,
    byte[] reportData,
    byte[] teeTcbSvn2,
    byte[] mrServiceTd) {

  public static final int BODY_TYPE_TDX10 = 2;
  public static final int BODY_TYPE_TDX15 = 3;
  public static final int SIZE_TDX10 = 584;
  public static final int SIZE_TDX15 = 648;

  public TdReport {
    rtmrs = List.copyOf(rtmrs);
    if (rtmrs.size() != 4) {
      throw new IllegalArgumentException("a TD report has 4 RTMRs, got " + rtmrs.size());
    }
  }

  /** RTMR {@code index} (0..3), 48 bytes. */
  public byte[] rtmr(int index) {
    return rtmrs.get(index);
  }

  /** TDATTRIBUTES bit 0 (TUD.DEBUG): the host can read and change this TD's state. */
  public boolean debug() {
    return (tdAttributes[0] & 1) != 0;
  }

  public int size() {
    return bodyType == BODY_TYPE_TDX15 ? SIZE_TDX15 : SIZE_TDX10;
  }

  static TdReport read(LeReader r, int bodyType) {
    byte[] teeTcbSvn = r.bytes(16, "body.tee_tcb_svn");
    byte[] mrSeam = r.bytes(48, "body.mrseam");
    byte[] mrSignerSeam = r.bytes(48, "body.mrsignerseam");
    byte[] seamAttributes = r.bytes(8, "body.seam_attributes");
    byte[] tdAttributes = r.bytes(8, "body.td_attributes");
    byte[] xfam = r.bytes(8, "body.xfam");
    byte[] mrTd = r.bytes(48, "body.mrtd");
    byte[] mrConfigId = r.bytes(48, "body.mrconfigid");
    byte[] mrOwner = r.bytes(48, "body.mrowner");
    byte[] mrOwnerConfig = r.bytes(48, "body.mrownerconfig");
    List<byte[]> rtmrs =
        List.of(
            r.bytes(48, "body.rtmr0"),
            r.bytes(48, "body.rtmr1"),
            r.bytes(48, "body.rtmr2"),
            r.bytes(48, "body.rtmr3"));
    byte[] reportData = r.bytes(64, "body.report_data");
    byte[] teeTcbSvn2 = null;
    byte[] mrServiceTd = null;
    if (bodyType == BODY_TYPE_TDX15) {
      teeTcbSvn2 = r.bytes(16, "body.tee_tcb_svn2");
      mrServiceTd = r.bytes(48, "body.mrservicetd");
    }
    return new TdReport(
        bodyType,
        teeTcbSvn,
        mrSeam,
        mrSignerSeam,
        seamAttributes,
        tdAttributes,
        xfam,
        mrTd,
        mrConfigId,
        mrOwner,
        mrOwnerConfig,
        rtmrs,
        reportData,
        teeTcbSvn2,
        mrServiceTd);
  }

  void write(LeWriter w) {
    w.bytes(teeTcbSvn, 16, "tee_tcb_svn");
    w.bytes(mrSeam, 48, "mrseam");
    w.bytes(mrSignerSeam, 48, "mrsignerseam");
    w.bytes(seamAttributes, 8, "seam_attributes");
    w.bytes(tdAttributes, 8, "td_attributes");
    w.bytes(xfam, 8, "xfam");
    w.bytes(mrTd, 48, "mrtd");
    w.bytes(mrConfigId, 48, "mrconfigid");
    w.bytes(mrOwner, 48, "mrowner");
    w.bytes(mrOwnerConfig, 48, "mrownerconfig");
    for (int i = 0; i < 4; i++) {
      w.bytes(rtmrs.get(i), 48, "rtmr" + i);
    }
    w.bytes(reportData, 64, "report_data");
    if (bodyType == BODY_TYPE_TDX15) {
      w.bytes(teeTcbSvn2, 16, "tee_tcb_svn2");
      w.bytes(mrServiceTd, 48, "mrservicetd");
    }
  }
}
