package dev.confaas.attestation;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A TDX module and quoting enclave simulated in software, for the process and qemu backends on
 * machines without TDX. It keeps MRTD and RTMR0..3 with real SHA-384 extend semantics and emits
 * quotes in the exact v4 layout with a complete signature section (attestation key, QE report
 * signed by a PCK key, PCK chain), all under a {@link SimulatedPki} dev root — so the production
 * {@link QuoteVerifier} path verifies them when, and only when, told to trust that root.
 *
 * <p>Its quotes prove nothing about hardware: anyone holding the dev PKI directory can forge them.
 */
public final class SimulatedTdxModule implements TdxGuest {
  /** Intel's QE vendor ID, as real quotes carry it. */
  static final byte[] QE_VENDOR_ID = HexFormat.of().parseHex("939a7233f79c4ca9940a0db3957f0607");

  /** MRSEAM of the simulated TDX module: SHA-384 of a label. */
  static final byte[] MR_SEAM =
      RtmrLog.sha384("ConFaaS SIMULATED TDX module".getBytes(StandardCharsets.US_ASCII));

  /** XFAM as a typical Linux TD sets it (x87, SSE, AVX, AVX-512, PK, AMX state components). */
  static final byte[] XFAM = HexFormat.of().parseHex("e702060000000000");

  private final SimulatedPki pki;
  private final byte[] mrTd;
  private final byte[] tdAttributes = new byte[8];
  private final byte[][] rtmrs = new byte[4][48];
  private final KeyPair attestationKey;
  private final byte[] attestationKeyRaw;
  private final byte[] qeAuthData;
  private final QeReport qeReport;
  private final byte[] qeReportSignature;

  /**
   * A TD whose MRTD is SHA-384 over {@code measuredArtifacts} in order (e.g. the agent's jar and
   * its configuration), standing in for the TD's initial memory image.
   */
  public SimulatedTdxModule(SimulatedPki pki, byte[]... measuredArtifacts) {
    this(pki, false, measuredArtifacts);
  }

  /** As above; {@code debug} sets TDATTRIBUTES.DEBUG, which appraisal rejects by default. */
  public SimulatedTdxModule(SimulatedPki pki, boolean debug, byte[]... measuredArtifacts) {
    this.pki = pki;
    MessageDigest md = sha384();
    for (byte[] a : measuredArtifacts) {
      md.update(a);
    }
    this.mrTd = md.digest();
    if (debug) {
      tdAttributes[0] = 1;
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      this.attestationKey = g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks P-256", e);
    }
    this.attestationKeyRaw = rawPoint((ECPublicKey) attestationKey.getPublic());
    this.qeAuthData = new byte[32];
    for (int i = 0; i < qeAuthData.length; i++) {
      qeAuthData[i] = (byte) i; // as Intel's QE: a 32-byte counter pattern
    }
    this.qeReport = buildQeReport();
    this.qeReportSignature = pki.signWithPck(qeReport.raw());
  }

  private QeReport buildQeReport() {
    byte[] raw = new byte[QeReport.SIZE];
    System.arraycopy(
        QuoteVerifier.sha256("ConFaaS SIMULATED CPUSVN".getBytes(StandardCharsets.US_ASCII)),
        0,
        raw,
        0,
        16);
    raw[48] = 0x11; // ATTRIBUTES: INIT | MODE64BIT
    byte[] mrEnclave =
        QuoteVerifier.sha256("ConFaaS SIMULATED TD_QE".getBytes(StandardCharsets.US_ASCII));
    System.arraycopy(mrEnclave, 0, raw, 64, 32);
    System.arraycopy(SimulatedPki.QE_MRSIGNER, 0, raw, 128, 32);
    raw[256] = (byte) SimulatedPki.QE_ISVPRODID;
    raw[258] = (byte) SimulatedPki.QE_ISVSVN;
    byte[] binding = QuoteVerifier.sha256(attestationKeyRaw, qeAuthData);
    System.arraycopy(binding, 0, raw, 320, 32);
    return new QeReport(raw);
  }

  private static byte[] rawPoint(ECPublicKey k) {
    byte[] out = new byte[64];
    byte[] x = k.getW().getAffineX().toByteArray();
    byte[] y = k.getW().getAffineY().toByteArray();
    copyRight(x, out, 0);
    copyRight(y, out, 32);
    return out;
  }

  private static void copyRight(byte[] unsigned, byte[] out, int off) {
    int n = Math.min(unsigned.length, 32);
    System.arraycopy(unsigned, unsigned.length - n, out, off + 32 - n, n);
  }

  public byte[] mrTd() {
    return mrTd.clone();
  }

  @Override
  public synchronized void extendRtmr(int index, byte[] digest) {
    if (index < 0 || index > 3) {
      throw new IllegalArgumentException("RTMR index must be 0..3, got " + index);
    }
    rtmrs[index] = RtmrLog.extend(rtmrs[index], digest);
  }

  @Override
  public synchronized List<byte[]> rtmrs() {
    List<byte[]> out = new ArrayList<>(4);
    for (byte[] r : rtmrs) {
      out.add(r.clone());
    }
    return out;
  }

  /** The quote as a model (see {@link #getQuote} for bytes). */
  public TdxQuote quote(byte[] reportData) {
    if (reportData.length != ReportData.SIZE) {
      throw new IllegalArgumentException("REPORTDATA is 64 bytes, got " + reportData.length);
    }
    QuoteHeader header =
        new QuoteHeader(
            4,
            QuoteHeader.ATT_KEY_TYPE_ECDSA_P256,
            QuoteHeader.TEE_TYPE_TDX,
            new byte[4],
            QE_VENDOR_ID.clone(),
            new byte[20]);
    List<byte[]> r = rtmrs();
    TdReport body =
        new TdReport(
            TdReport.BODY_TYPE_TDX10,
            SimulatedPki.TEE_TCB_SVN.clone(),
            MR_SEAM.clone(),
            new byte[48],
            new byte[8],
            tdAttributes.clone(),
            XFAM.clone(),
            mrTd.clone(),
            new byte[48],
            new byte[48],
            new byte[48],
            r,
            reportData.clone(),
            null,
            null);
    QuoteSignatureData unsigned = signature(new byte[64]);
    byte[] signed = new TdxQuote(header, body, unsigned).signedRegion();
    byte[] sig = SimulatedPki.signRaw(attestationKey.getPrivate(), signed);
    return new TdxQuote(header, body, signature(sig));
  }

  private QuoteSignatureData signature(byte[] quoteSignature) {
    return new QuoteSignatureData(
        quoteSignature,
        attestationKeyRaw.clone(),
        QuoteSignatureData.CERT_DATA_QE_REPORT,
        qeReport,
        qeReportSignature.clone(),
        qeAuthData.clone(),
        QuoteSignatureData.CERT_DATA_PCK_CHAIN,
        pki.pckChainPem());
  }

  @Override
  public byte[] getQuote(byte[] reportData) {
    return quote(reportData).toBytes();
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "SimulatedTdxModule[MRTD " + HexFormat.of().formatHex(mrTd) + "]";
  }
}
