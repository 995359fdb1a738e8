package dev.confaas.attestation;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a TD must measure to be admitted (ARCHITECTURE.md, "Pool boot"): allowed MRTD and RTMR0..2
 * values, MRCONFIGID/MROWNER/MROWNERCONFIG where set, the expected REPORTDATA, the RTMR3 log,
 * whether debug TDs are allowed (not by default) and the worst TCB status accepted (UpToDate by
 * default). A value left unset is not checked; {@link Appraisal#checked()} says what was.
 */
public final class ReferenceValues {
  private final Set<ByteBuffer> mrTd;
  private final List<Set<ByteBuffer>> rtmrs;
  private final byte[] mrConfigId;
  private final byte[] mrOwner;
  private final byte[] mrOwnerConfig;
  private final boolean allowDebug;
  private final TcbStatus worstTcbStatus;
  private final byte[] reportData;
  private final RtmrLog rtmr3Log;

  private ReferenceValues(Builder b) {
    this.mrTd = Set.copyOf(b.mrTd);
    this.rtmrs = b.rtmrs.stream().map(Set::copyOf).toList();
    this.mrConfigId = b.mrConfigId;
    this.mrOwner = b.mrOwner;
    this.mrOwnerConfig = b.mrOwnerConfig;
    this.allowDebug = b.allowDebug;
    this.worstTcbStatus = b.worstTcbStatus;
    this.reportData = b.reportData;
    this.rtmr3Log = b.rtmr3Log;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these values (e.g. to add a per-TD nonce binding). */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.mrTd.addAll(mrTd);
    for (int i = 0; i < 4; i++) {
      b.rtmrs.get(i).addAll(rtmrs.get(i));
    }
    b.mrConfigId = mrConfigId;
    b.mrOwner = mrOwner;
    b.mrOwnerConfig = mrOwnerConfig;
    b.allowDebug = allowDebug;
    b.worstTcbStatus = worstTcbStatus;
    b.reportData = reportData;
    b.rtmr3Log = rtmr3Log;
    return b;
  }

  /**
   * Appraises a verification result; an unverified quote fails {@code QUOTE_VERIFICATION}, and its
   * claimed measurements are still compared so the report is complete.
   */
  public Appraisal appraise(QuoteVerification v) {
    List<Appraisal.Failure> failures = new ArrayList<>();
    List<Appraisal.Check> checked = new ArrayList<>();
    checked.add(Appraisal.Check.QUOTE_VERIFICATION);
    if (!v.verified()) {
      failures.add(
          new Appraisal.Failure(
              Appraisal.Check.QUOTE_VERIFICATION,
              v.failedCheck().map(Enum::name).orElse("") + ": " + v.message()));
    }
    if (v.verified()) {
      checked.add(Appraisal.Check.TCB_STATUS);
      TcbStatus s = v.tcbStatus().orElseThrow();
      if (!s.atLeast(worstTcbStatus)) {
        failures.add(
            new Appraisal.Failure(
                Appraisal.Check.TCB_STATUS,
                "TCB status "
                    + s.pcsName()
                    + " is worse than the accepted "
                    + worstTcbStatus.pcsName()
                    + (v.advisoryIds().isEmpty() ? "" : " (advisories " + v.advisoryIds() + ")")));
      }
    }
    TdReport r = v.measurements().orElse(null);
    if (r == null) {
      return new Appraisal(failures, checked);
    }
    oneOf(Appraisal.Check.MRTD, "MRTD", r.mrTd(), mrTd, failures, checked);
    for (int i = 0; i < 3; i++) {
      oneOf(
          Appraisal.Check.valueOf("RTMR" + i),
          "RTMR" + i,
          r.rtmr(i),
          rtmrs.get(i),
          failures,
          checked);
    }
    if (rtmr3Log != null) {
      checked.add(Appraisal.Check.RTMR3);
      RtmrLog.Comparison c = rtmr3Log.compareTo(r.rtmr(3));
      if (!c.matches()) {
        failures.add(new Appraisal.Failure(Appraisal.Check.RTMR3, c.message()));
      }
    } else {
      oneOf(Appraisal.Check.RTMR3, "RTMR3", r.rtmr(3), rtmrs.get(3), failures, checked);
    }
    exactly(
        Appraisal.Check.MRCONFIGID, "MRCONFIGID", r.mrConfigId(), mrConfigId, failures, checked);
    exactly(Appraisal.Check.MROWNER, "MROWNER", r.mrOwner(), mrOwner, failures, checked);
    exactly(
        Appraisal.Check.MROWNERCONFIG,
        "MROWNERCONFIG",
        r.mrOwnerConfig(),
        mrOwnerConfig,
        failures,
        checked);
    checked.add(Appraisal.Check.DEBUG);
    if (r.debug() && !allowDebug) {
      failures.add(
          new Appraisal.Failure(
              Appraisal.Check.DEBUG,
              "the TD is a debug TD (TDATTRIBUTES "
                  + hex(r.tdAttributes())
                  + ", bit 0 set): the host can read and modify its memory; debug TDs are"
                  + " forbidden"));
    }
    exactly(
        Appraisal.Check.REPORT_DATA, "REPORTDATA", r.reportData(), reportData, failures, checked);
    return new Appraisal(failures, checked);
  }

  private static void oneOf(
      Appraisal.Check check,
      String name,
      byte[] actual,
      Set<ByteBuffer> allowed,
      List<Appraisal.Failure> failures,
      List<Appraisal.Check> checked) {
    if (allowed.isEmpty()) {
      return;
    }
    checked.add(check);
    if (!allowed.contains(ByteBuffer.wrap(actual))) {
      failures.add(
          new Appraisal.Failure(
              check,
              name
                  + " "
                  + hex(actual)
                  + " is not among the "
                  + allowed.size()
                  + " allowed value(s) "
                  + allowed.stream().map(b -> hex(b.array())).collect(Collectors.joining(", "))));
    }
  }

  private static void exactly(
      Appraisal.Check check,
      String name,
      byte[] actual,
      byte[] expected,
      List<Appraisal.Failure> failures,
      List<Appraisal.Check> checked) {
    if (expected == null) {
      return;
    }
    checked.add(check);
    if (!MessageDigest.isEqual(actual, expected)) {
      failures.add(
          new Appraisal.Failure(
              check, name + " is " + hex(actual) + ", expected " + hex(expected)));
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  public static final class Builder {
    private final Set<ByteBuffer> mrTd = new LinkedHashSet<>();
    private final List<Set<ByteBuffer>> rtmrs =
        List.of(
            new LinkedHashSet<>(),
            new LinkedHashSet<>(),
            new LinkedHashSet<>(),
            new LinkedHashSet<>());
    private byte[] mrConfigId;
    private byte[] mrOwner;
    private byte[] mrOwnerConfig;
    private boolean allowDebug;
    private TcbStatus worstTcbStatus = TcbStatus.UP_TO_DATE;
    private byte[] reportData;
    private RtmrLog rtmr3Log;

    private Builder() {}

    private static ByteBuffer measurement(byte[] v, int size, String name) {
      if (v.length != size) {
        throw new IllegalArgumentException(name + " must be " + size + " bytes, got " + v.length);
      }
      return ByteBuffer.wrap(v.clone());
    }

    /** Adds allowed MRTD values (48 bytes each). */
    public Builder allowMrTd(byte[]... values) {
      for (byte[] v : values) {
        mrTd.add(measurement(v, 48, "MRTD"));
      }
      return this;
    }

    /** Adds allowed values for RTMR {@code index} (0..3). */
    public Builder allowRtmr(int index, byte[]... values) {
      if (index < 0 || index > 3) {
        throw new IllegalArgumentException("RTMR index must be 0..3, got " + index);
      }
      for (byte[] v : values) {
        rtmrs.get(index).add(measurement(v, 48, "RTMR" + index));
      }
      return this;
    }

    /** RTMR3 must be what this log replays to (takes precedence over allowed RTMR3 values). */
    public Builder rtmr3Log(RtmrLog log) {
      this.rtmr3Log = log;
      return this;
    }

    public Builder mrConfigId(byte[] v) {
      this.mrConfigId = measurement(v, 48, "MRCONFIGID").array();
      return this;
    }

    public Builder mrOwner(byte[] v) {
      this.mrOwner = measurement(v, 48, "MROWNER").array();
      return this;
    }

    public Builder mrOwnerConfig(byte[] v) {
      this.mrOwnerConfig = measurement(v, 48, "MROWNERCONFIG").array();
      return this;
    }

    /** Allow TDs with TDATTRIBUTES.DEBUG set (never in production). */
    public Builder allowDebug(boolean allow) {
      this.allowDebug = allow;
      return this;
    }

    /** The worst TCB status still accepted (default UpToDate). */
    public Builder worstTcbStatus(TcbStatus status) {
      this.worstTcbStatus = status;
      return this;
    }

    /** The exact REPORTDATA expected, e.g. {@link ReportData#bind}. */
    public Builder reportData(byte[] v) {
      this.reportData = measurement(v, 64, "REPORTDATA").array();
      return this;
    }

    public ReferenceValues build() {
      return new ReferenceValues(this);
    }
  }
}
