package dev.confaas.attestation;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Verifies TDX quotes the way Intel's Quote Verification Library (QVL) does: the PCK certificate
 * chain to the pinned root, both CRLs, the collateral signatures over their exact bytes, the QE
 * report and its binding to the attestation key, the quote signature, the QE identity, and the TCB
 * level of the platform, the TDX module and the QE — every validity window against the injected
 * {@link Clock}.
 *
 * <p>By default the root is Intel's SGX Root CA (bundled, SHA-256 fingerprint
 * 44:A0:19:6B:...:74:D3). Quotes from {@link SimulatedTdxModule} chain to a locally generated root
 * and are refused unless a verifier is built with {@link #trusting} that root.
 *
 * <p>Not done (yet): QVL's TD relaunch advice for TDX 1.5 bodies (TEE_TCB_SVN2, statuses
 * TDRelaunchAdvised*); a v5 type-3 quote gets the status of its TCB level as for TDX 1.0.
 *
 * <p>References: Intel SGX/TDX DCAP QVL ({@code QuoteVerifier.cpp}, {@code TcbLevelCheck.cpp},
 * {@code TdxModuleCheck.cpp}) and the Intel PCS API v4 documentation.
 */
public final class QuoteVerifier {

  /** Bouncy Castle's ECDSA verifies P-256 about three times faster than SunEC on JDK 17. */
  static final BouncyCastleProvider BC = new BouncyCastleProvider();

  /** Subject marker of the simulator's dev roots; such quotes prove nothing about hardware. */
  public static final String SIMULATED_ROOT_MARKER = "SIMULATED TDX Root CA - NOT INTEL";

  private static final ECParameterSpec P256 = p256();

  private final X509Certificate trustedRoot;
  private final Clock clock;

  /**
   * PCK chains (by their exact bytes) whose signatures already verified to {@link #trustedRoot}.
   */
  private final Cache<ByteBuffer, PckChain> verifiedChains =
      Caffeine.newBuilder().maximumSize(1024).build();

  private QuoteVerifier(X509Certificate trustedRoot, Clock clock) {
    this.trustedRoot = Objects.requireNonNull(trustedRoot, "trustedRoot");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** A verifier pinned to Intel's SGX Root CA. */
  public static QuoteVerifier intel(Clock clock) {
    return new QuoteVerifier(intelRootCa(), clock);
  }

  /** A verifier pinned to another root, e.g. a simulator's dev root. */
  public static QuoteVerifier trusting(X509Certificate root, Clock clock) {
    return new QuoteVerifier(root, clock);
  }

  /** The bundled Intel SGX Root CA certificate. */
  public static X509Certificate intelRootCa() {
    try (InputStream in = QuoteVerifier.class.getResourceAsStream("intel_sgx_root_ca.pem")) {
      return Pem.chain(
              new String(in.readAllBytes(), StandardCharsets.US_ASCII), "Intel SGX Root CA")
          .get(0);
    } catch (IOException e) {
      throw new UncheckedIOException("bundled Intel SGX Root CA is unreadable", e);
    }
  }

  public X509Certificate trustedRoot() {
    return trustedRoot;
  }

  /**
   * Parses and verifies raw quote bytes; a parse failure is reported as {@link
   * QuoteCheck#QUOTE_FORMAT}.
   */
  public QuoteVerification verify(byte[] quote, Collateral collateral) {
    TdxQuote parsed;
    try {
      parsed = TdxQuote.parse(quote);
    } catch (QuoteFormatException e) {
      return QuoteVerification.failed(
          QuoteCheck.QUOTE_FORMAT, e.getMessage(), null, null, clock.instant());
    }
    return verify(parsed, collateral);
  }

  public QuoteVerification verify(TdxQuote quote, Collateral collateral) {
    Instant now = clock.instant();
    Run run = new Run(quote, collateral, now);
    try {
      return run.verify();
    } catch (VerificationException e) {
      return QuoteVerification.failed(e.check, e.getMessage(), quote, run.status, now);
    }
  }

  /** A PCK chain whose signatures verified to the trusted root, with the PCK's SGX extensions. */
  private record PckChain(X509Certificate leaf, X509Certificate ca, PckExtensions extensions) {}

  /** One verification; holds the intermediate results so failures can report what was reached. */
  private final class Run {
    final TdxQuote quote;
    final Collateral c;
    final Instant now;
    TcbStatus status;

    Run(TdxQuote quote, Collateral c, Instant now) {
      this.quote = quote;
      this.c = c;
      this.now = now;
    }

    QuoteVerification verify() throws VerificationException {
      QuoteSignatureData sig = quote.signatureData();
      if (c.trustedRoot != null && !c.trustedRoot.equals(trustedRoot)) {
        throw new VerificationException(
            QuoteCheck.TRUSTED_ROOT,
            "the collateral was issued under '"
                + name(c.trustedRoot)
                + "' but this verifier trusts '"
                + name(trustedRoot)
                + "'; pass the collateral's root explicitly if you mean to trust it");
      }

      // PCK certificate chain carried in the quote: leaf, PCK CA, root.
      ByteBuffer chainKey = ByteBuffer.wrap(sig.pckCertChain());
      PckChain known = verifiedChains.getIfPresent(chainKey);
      if (known == null) {
        List<X509Certificate> chain;
        try {
          chain = Pem.strictChain(sig.pckCertChain(), "PCK certificate chain");
        } catch (IllegalArgumentException e) {
          throw new VerificationException(QuoteCheck.PCK_CHAIN, e.getMessage(), e);
        }
        if (chain.size() != 3) {
          throw new VerificationException(
              QuoteCheck.PCK_CHAIN,
              "PCK certificate chain has "
                  + chain.size()
                  + " certificates, expected 3 (PCK, PCK CA, root)");
        }
        requireTrustedRoot(chain.get(2), QuoteCheck.TRUSTED_ROOT, "PCK certificate chain");
        requireIssued(chain.get(1), trustedRoot, "PCK CA", QuoteCheck.PCK_CHAIN);
        requireIssued(chain.get(0), chain.get(1), "PCK", QuoteCheck.PCK_CHAIN);
        PckExtensions extensions;
        try {
          extensions = PckExtensions.of(chain.get(0));
        } catch (IllegalArgumentException e) {
          throw new VerificationException(QuoteCheck.PCK_CHAIN, e.getMessage(), e);
        }
        // Signatures, names and extensions never change; windows and revocation are checked on
        // every call.
        known = new PckChain(chain.get(0), chain.get(1), extensions);
        verifiedChains.put(ByteBuffer.wrap(sig.pckCertChain().clone()), known);
      }
      X509Certificate leaf = known.leaf();
      X509Certificate pckCa = known.ca();
      PckExtensions pck = known.extensions();
      requireValid(trustedRoot, "root CA", QuoteCheck.PCK_CHAIN);
      requireValid(pckCa, "PCK CA", QuoteCheck.PCK_CHAIN);
      requireValid(leaf, "PCK", QuoteCheck.PCK_CHAIN);

      // CRLs. Signatures (root CRL, collateral) are checked once per collateral object and root.
      boolean signaturesKnown = c.signaturesVerifiedUnder.contains(trustedRoot);
      requireCrl(c.rootCaCrl, trustedRoot, "Root CA CRL", QuoteCheck.ROOT_CA_CRL, !signaturesKnown);
      requireNotRevoked(c.rootCaCrl, pckCa, "PCK CA", "Root CA CRL", QuoteCheck.ROOT_CA_CRL);
      X509Certificate pckCrlIssuer = pckCa;
      if (c.pckCrlIssuerChain != null) {
        X509Certificate declared = c.pckCrlIssuerChain.get(0);
        if (!declared.equals(pckCa)) {
          throw new VerificationException(
              QuoteCheck.PCK_CRL,
              "pck_crl_issuer_chain names '"
                  + name(declared)
                  + "' but the quote's PCK was issued by '"
                  + name(pckCa)
                  + "' (serial "
                  + pckCa.getSerialNumber().toString(16)
                  + "); fetch the PCK CRL of that CA");
        }
      }
      requireCrl(
          c.pckCrl,
          pckCrlIssuer,
          "PCK CRL",
          QuoteCheck.PCK_CRL,
          !c.pckCrlVerifiedWith.contains(pckCa));
      c.pckCrlVerifiedWith.add(pckCa);
      requireNotRevoked(c.pckCrl, leaf, "PCK", "PCK CRL", QuoteCheck.PCK_CRL);

      // Collateral signatures and windows.
      requireSignedCollateral(
          c.tcbInfoIssuerChain,
          c.tcbInfoSigned,
          "TCB Info",
          QuoteCheck.TCB_INFO_SIGNATURE,
          !signaturesKnown);
      requireWindow(
          c.tcbInfo.issueDate(), c.tcbInfo.nextUpdate(), "TCB Info", QuoteCheck.TCB_INFO_VALIDITY);
      requireSignedCollateral(
          c.qeIdentityIssuerChain,
          c.qeIdentitySigned,
          "QE Identity",
          QuoteCheck.QE_IDENTITY_SIGNATURE,
          !signaturesKnown);
      c.signaturesVerifiedUnder.add(trustedRoot);
      requireWindow(
          c.qeIdentity.issueDate(),
          c.qeIdentity.nextUpdate(),
          "QE Identity",
          QuoteCheck.QE_IDENTITY_VALIDITY);

      // QE report: signed by the PCK key, binding the attestation key.
      if (!verifyRaw(leaf.getPublicKey(), sig.qeReport().raw(), sig.qeReportSignature())) {
        throw new VerificationException(
            QuoteCheck.QE_REPORT_SIGNATURE,
            "the QE report signature does not verify with the PCK certificate's key");
      }
      byte[] expected = sha256(sig.attestationKey(), sig.qeAuthData());
      byte[] reportData = sig.qeReport().reportData();
      if (!Arrays.equals(expected, 0, 32, reportData, 0, 32)
          || !allZero(Arrays.copyOfRange(reportData, 32, 64))) {
        throw new VerificationException(
            QuoteCheck.QE_REPORT_DATA,
            "QE report data is not SHA-256(attestation key || QE auth data) followed by 32 zero"
                + " bytes: the attestation key was not certified by this QE");
      }
      PublicKey attestationKey;
      try {
        attestationKey = p256Key(sig.attestationKey());
      } catch (GeneralSecurityException e) {
        throw new VerificationException(
            QuoteCheck.QUOTE_SIGNATURE,
            "attestation key is not a P-256 point: " + e.getMessage(),
            e);
      }
      byte[] encoded = quote.encoded();
      if (!verifyRaw(attestationKey, encoded, 0, quote.signedLength(), sig.quoteSignature())) {
        throw new VerificationException(
            QuoteCheck.QUOTE_SIGNATURE,
            "the quote signature over header and TD report does not verify with the attestation"
                + " key");
      }

      List<String> advisories = new ArrayList<>();
      TcbStatus qeStatus = checkQeIdentity(c.qeIdentity, sig.qeReport(), advisories);
      TcbStatus platform = checkTcb(c.tcbInfo, pck, quote.report(), advisories);
      status = converge(platform, qeStatus);
      if (status == TcbStatus.REVOKED) {
        throw new VerificationException(
            QuoteCheck.TCB_LEVEL, "the platform's TCB level is Revoked: this TD cannot be trusted");
      }
      return QuoteVerification.verified(
          quote,
          status,
          new ArrayList<>(new LinkedHashSet<>(advisories)),
          CollateralHex.of(pck.fmspc()),
          name(trustedRoot),
          now);
    }

    void requireTrustedRoot(X509Certificate root, QuoteCheck check, String what)
        throws VerificationException {
      if (root.equals(trustedRoot)) {
        return;
      }
      String subject = name(root);
      if (subject.contains(SIMULATED_ROOT_MARKER)) {
        throw new VerificationException(
            check,
            "the quote is SIMULATED: its "
                + what
                + " ends in '"
                + subject
                + "', not a TDX platform's Intel root; trust that dev root explicitly"
                + " (--trust-root) only for development");
      }
      throw new VerificationException(
          check,
          what
              + " ends in '"
              + subject
              + "' (SHA-256 "
              + fingerprint(root)
              + "), not the trusted root '"
              + name(trustedRoot)
              + "' (SHA-256 "
              + fingerprint(trustedRoot)
              + ")");
    }

    void requireIssued(X509Certificate child, X509Certificate issuer, String role, QuoteCheck check)
        throws VerificationException {
      if (!child.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new VerificationException(
            check,
            role
                + " certificate is issued by '"
                + commonName(child.getIssuerX500Principal())
                + "', not by '"
                + name(issuer)
                + "'");
      }
      if (issuer.getBasicConstraints() < 0) {
        throw new VerificationException(
            check, "'" + name(issuer) + "' is not a CA but issued the " + role + " certificate");
      }
      try {
        child.verify(issuer.getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new VerificationException(
            check,
            role
                + " certificate '"
                + name(child)
                + "' signature does not verify with '"
                + name(issuer)
                + "': "
                + e.getMessage(),
            e);
      }
    }

    void requireValid(X509Certificate cert, String role, QuoteCheck check)
        throws VerificationException {
      Instant notBefore = cert.getNotBefore().toInstant();
      Instant notAfter = cert.getNotAfter().toInstant();
      if (now.isBefore(notBefore)) {
        throw new VerificationException(
            check,
            role
                + " certificate '"
                + name(cert)
                + "' is not valid before "
                + notBefore
                + " (verification time "
                + now
                + ")");
      }
      if (now.isAfter(notAfter)) {
        throw new VerificationException(
            check,
            role
                + " certificate '"
                + name(cert)
                + "' expired "
                + notAfter
                + " (verification time "
                + now
                + ")");
      }
    }

    void requireWindow(Instant issue, Instant next, String what, QuoteCheck check)
        throws VerificationException {
      if (now.isBefore(issue)) {
        throw new VerificationException(
            check,
            what
                + " is not valid before its issueDate "
                + issue
                + " (verification time "
                + now
                + ")");
      }
      if (now.isAfter(next)) {
        throw new VerificationException(
            check,
            what
                + " expired at its nextUpdate "
                + next
                + " (verification time "
                + now
                + "); fetch fresh collateral");
      }
    }

    void requireCrl(
        X509CRL crl, X509Certificate issuer, String what, QuoteCheck check, boolean checkSignature)
        throws VerificationException {
      if (!crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new VerificationException(
            check,
            what
                + " is issued by '"
                + commonName(crl.getIssuerX500Principal())
                + "', expected '"
                + name(issuer)
                + "'");
      }
      if (checkSignature) {
        try {
          crl.verify(issuer.getPublicKey());
        } catch (GeneralSecurityException e) {
          throw new VerificationException(
              check, what + " signature does not verify with '" + name(issuer) + "'", e);
        }
      }
      Instant next = crl.getNextUpdate() == null ? null : crl.getNextUpdate().toInstant();
      if (next == null) {
        throw new VerificationException(check, what + " has no nextUpdate");
      }
      requireWindow(crl.getThisUpdate().toInstant(), next, what, check);
    }

    void requireNotRevoked(
        X509CRL crl, X509Certificate cert, String role, String what, QuoteCheck check)
        throws VerificationException {
      X509CRLEntry entry = crl.getRevokedCertificate(cert);
      if (entry != null) {
        throw new VerificationException(
            check,
            role
                + " certificate '"
                + name(cert)
                + "' (serial "
                + cert.getSerialNumber().toString(16)
                + ") is revoked by the "
                + what
                + " since "
                + entry.getRevocationDate().toInstant());
      }
    }

    void requireSignedCollateral(
        List<X509Certificate> issuerChain,
        SignedJson signed,
        String what,
        QuoteCheck check,
        boolean checkSignatures)
        throws VerificationException {
      if (issuerChain.size() != 2) {
        throw new VerificationException(
            check,
            what
                + " issuer chain has "
                + issuerChain.size()
                + " certificates, expected 2 (TCB signing certificate, root)");
      }
      X509Certificate signer = issuerChain.get(0);
      requireTrustedRoot(issuerChain.get(1), check, what + " issuer chain");
      if (checkSignatures) {
        requireIssued(signer, trustedRoot, what + " signing", check);
      }
      requireValid(signer, what + " signing", check);
      requireNotRevoked(c.rootCaCrl, signer, what + " signing", "Root CA CRL", check);
      if (checkSignatures
          && !verifyRaw(signer.getPublicKey(), signed.signedBytes(), signed.signature())) {
        throw new VerificationException(
            check,
            what
                + " signature does not verify with '"
                + name(signer)
                + "' over the exact bytes of the signed JSON value");
      }
    }
  }

  /** QE report against the TD_QE identity; returns the QE's TCB status and adds its advisories. */
  static TcbStatus checkQeIdentity(QeIdentity id, QeReport qe, List<String> advisories)
      throws VerificationException {
    QuoteCheck k = QuoteCheck.QE_IDENTITY;
    if (!"TD_QE".equals(id.id()) || id.version() != 2) {
      throw new VerificationException(
          k, "QE Identity is '" + id.id() + "' v" + id.version() + ", expected TD_QE v2");
    }
    if (!Arrays.equals(qe.mrSigner(), id.mrSigner())) {
      throw new VerificationException(
          k,
          "QE MRSIGNER " + CollateralHex.of(qe.mrSigner()) + " is not the TD_QE's " + CollateralHex.of(id.mrSigner()));
    }
    if (qe.isvProdId() != id.isvProdId()) {
      throw new VerificationException(
          k, "QE ISVPRODID " + qe.isvProdId() + " is not the TD_QE's " + id.isvProdId());
    }
    byte[] misc = Arrays.copyOfRange(qe.raw(), 16, 20);
    if (!maskedEquals(misc, id.miscSelectMask(), id.miscSelect())) {
      throw new VerificationException(
          k,
          "QE MISCSELECT "
              + CollateralHex.of(misc)
              + " under mask "
              + CollateralHex.of(id.miscSelectMask())
              + " is not "
              + CollateralHex.of(id.miscSelect()));
    }
    if (!maskedEquals(qe.attributes(), id.attributesMask(), id.attributes())) {
      throw new VerificationException(
          k,
          "QE ATTRIBUTES "
              + CollateralHex.of(qe.attributes())
              + " under mask "
              + CollateralHex.of(id.attributesMask())
              + " is not "
              + CollateralHex.of(id.attributes()));
    }
    List<QeIdentity.Level> levels = new ArrayList<>(id.tcbLevels());
    levels.sort(Comparator.comparingInt(QeIdentity.Level::isvSvn).reversed());
    for (QeIdentity.Level l : levels) {
      if (qe.isvSvn() >= l.isvSvn()) {
        advisories.addAll(l.advisoryIds());
        return l.status();
      }
    }
    throw new VerificationException(
        k, "QE ISVSVN " + qe.isvSvn() + " is below every TD_QE TCB level: not supported");
  }

  /**
   * The platform's TDX TCB status from TCB Info (QVL {@code checkTcbLevel}): TCB Info identity, TDX
   * module identity and module TCB level, then the first TCB level reached by the PCK's SGX SVNs
   * and PCESVN and the TD's TEE_TCB_SVN, converged with the module status. Adds advisories.
   */
  static TcbStatus checkTcb(TcbInfo t, PckExtensions pck, TdReport td, List<String> advisories)
      throws VerificationException {
    if (!"TDX".equals(t.id()) || t.version() != 3) {
      throw new VerificationException(
          QuoteCheck.TCB_INFO_MATCH,
          "TCB Info is '" + t.id() + "' version " + t.version() + ", expected TDX version 3");
    }
    if (!Arrays.equals(pck.fmspc(), t.fmspc())) {
      throw new VerificationException(
          QuoteCheck.TCB_INFO_MATCH,
          "TCB Info is for FMSPC "
              + CollateralHex.of(t.fmspc())
              + " but the PCK certificate's FMSPC is "
              + CollateralHex.of(pck.fmspc())
              + "; fetch TCB Info for that FMSPC");
    }
    if (!Arrays.equals(pck.pceId(), t.pceId())) {
      throw new VerificationException(
          QuoteCheck.TCB_INFO_MATCH,
          "TCB Info is for PCE ID "
              + CollateralHex.of(t.pceId())
              + " but the PCK certificate's is "
              + CollateralHex.of(pck.pceId()));
    }

    // TDX module: identity by TEE_TCB_SVN[1] (major version), TCB level by TEE_TCB_SVN[0].
    byte[] svn = td.teeTcbSvn();
    int moduleVersion = svn[1] & 0xff;
    TcbInfo.ModuleIdentity module;
    if (moduleVersion == 0) {
      module = t.tdxModule();
      if (module == null) {
        throw new VerificationException(QuoteCheck.TDX_MODULE, "TCB Info has no tdxModule");
      }
    } else {
      String wanted = String.format(Locale.ROOT, "TDX_%02X", moduleVersion);
      module =
          t.tdxModuleIdentities().stream()
              .filter(m -> m.id().toUpperCase(Locale.ROOT).equals(wanted))
              .findFirst()
              .orElseThrow(
                  () ->
                      new VerificationException(
                          QuoteCheck.TDX_MODULE,
                          "TCB Info has no TDX module identity "
                              + wanted
                              + " for TEE_TCB_SVN major version "
                              + moduleVersion));
    }
    if (!Arrays.equals(td.mrSignerSeam(), module.mrSigner())) {
      throw new VerificationException(
          QuoteCheck.TDX_MODULE,
          "MRSIGNERSEAM "
              + CollateralHex.of(td.mrSignerSeam())
              + " is not the signer of TDX module "
              + module.id()
              + " ("
              + CollateralHex.of(module.mrSigner())
              + ")");
    }
    if (!maskedEquals(td.seamAttributes(), module.attributesMask(), module.attributes())) {
      throw new VerificationException(
          QuoteCheck.TDX_MODULE,
          "SEAMATTRIBUTES "
              + CollateralHex.of(td.seamAttributes())
              + " do not match TDX module "
              + module.id()
              + " attributes "
              + CollateralHex.of(module.attributes()));
    }
    TcbStatus moduleStatus = null;
    if (moduleVersion != 0) {
      int isvSvn = svn[0] & 0xff;
      TcbInfo.ModuleLevel level =
          module.tcbLevels().stream()
              .filter(l -> isvSvn >= l.isvSvn())
              .findFirst()
              .orElseThrow(
                  () ->
                      new VerificationException(
                          QuoteCheck.TDX_MODULE,
                          "TDX module "
                              + module.id()
                              + " SVN "
                              + isvSvn
                              + " is below every module TCB level: not supported"));
      moduleStatus = level.status();
      advisories.addAll(level.advisoryIds());
    }

    // Platform TCB level: first level the PCK's SGX SVNs + PCESVN and the TD's TEE_TCB_SVN reach.
    int from = moduleVersion > 0 ? 2 : 0;
    for (TcbInfo.Level l : t.tcbLevels()) {
      if (!atLeast(pck.sgxTcbComponents(), l.sgxComponents(), 0) || pck.pceSvn() < l.pceSvn()) {
        continue;
      }
      int[] tee = new int[16];
      for (int i = 0; i < 16; i++) {
        tee[i] = svn[i] & 0xff;
      }
      if (atLeast(tee, l.tdxComponents(), from)) {
        advisories.addAll(0, l.advisoryIds());
        return convergeModule(l.status(), moduleStatus);
      }
    }
    throw new VerificationException(
        QuoteCheck.TCB_LEVEL,
        "no TCB level of FMSPC "
            + CollateralHex.of(t.fmspc())
            + " is reached by PCK SVNs "
            + Arrays.toString(pck.sgxTcbComponents())
            + " PCESVN "
            + pck.pceSvn()
            + " and TEE_TCB_SVN "
            + CollateralHex.of(svn)
            + ": TCB not supported");
  }

  static TcbStatus convergeModule(TcbStatus platform, TcbStatus module) {
    if (module == TcbStatus.OUT_OF_DATE) {
      return worsenToOutOfDate(platform);
    }
    return module == TcbStatus.REVOKED ? TcbStatus.REVOKED : platform;
  }

  /** QVL's convergence of the platform/TDX status with the QE's status. */
  static TcbStatus converge(TcbStatus platform, TcbStatus qe) {
    if (qe == TcbStatus.OUT_OF_DATE) {
      return worsenToOutOfDate(platform);
    }
    return qe == TcbStatus.REVOKED ? TcbStatus.REVOKED : platform;
  }

  private static TcbStatus worsenToOutOfDate(TcbStatus platform) {
    return switch (platform) {
      case UP_TO_DATE, SW_HARDENING_NEEDED -> TcbStatus.OUT_OF_DATE;
      case CONFIGURATION_NEEDED, CONFIGURATION_AND_SW_HARDENING_NEEDED ->
          TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED;
      default -> platform;
    };
  }

  private static boolean atLeast(int[] have, int[] need, int from) {
    for (int i = from; i < 16; i++) {
      if (have[i] < need[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean maskedEquals(byte[] value, byte[] mask, byte[] expected) {
    if (value.length != mask.length || mask.length != expected.length) {
      return false;
    }
    for (int i = 0; i < value.length; i++) {
      if ((value[i] & mask[i]) != (expected[i] & 0xff)) {
        return false;
      }
    }
    return true;
  }

  private static boolean allZero(byte[] b) {
    int acc = 0;
    for (byte x : b) {
      acc |= x;
    }
    return acc == 0;
  }

  /** "CN=..." of a certificate's subject (the whole DN if it has no CN), for messages. */
  static String name(X509Certificate c) {
    return commonName(c.getSubjectX500Principal());
  }

  static String commonName(javax.security.auth.x500.X500Principal p) {
    try {
      for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(p.getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return "CN=" + rdn.getValue();
        }
      }
    } catch (javax.naming.InvalidNameException e) {
      // fall through to the full name
    }
    return p.getName();
  }

  private static String fingerprint(X509Certificate c) {
    try {
      return CollateralHex.of(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
    } catch (GeneralSecurityException e) {
      return "?";
    }
  }

  static byte[] sha256(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        md.update(p);
      }
      return md.digest();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static boolean verifyRaw(PublicKey key, byte[] data, byte[] rawSignature) {
    return verifyRaw(key, data, 0, data.length, rawSignature);
  }

  /** ECDSA P-256 / SHA-256 with the signature as r||s (32 bytes each), as DCAP encodes it. */
  static boolean verifyRaw(PublicKey key, byte[] data, int off, int len, byte[] rawSignature) {
    try {
      Signature s = Signature.getInstance("SHA256withPLAIN-ECDSA", BC);
      s.initVerify(key);
      s.update(data, off, len);
      return s.verify(rawSignature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** A P-256 public key from its raw x||y encoding (64 bytes) as the quote carries it. */
  static PublicKey p256Key(byte[] xy) throws GeneralSecurityException {
    if (xy.length != 64) {
      throw new GeneralSecurityException("expected 64 bytes x||y, got " + xy.length);
    }
    ECPoint w =
        new ECPoint(
            new BigInteger(1, Arrays.copyOfRange(xy, 0, 32)),
            new BigInteger(1, Arrays.copyOfRange(xy, 32, 64)));
    return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, P256));
  }

  static ECParameterSpec p256() {
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec("secp256r1"));
      return p.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks P-256", e);
    }
  }
}
