package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class QuoteVerifierTest {

  private static QuoteVerification verify(String set, Instant at) {
    return QuoteVerifier.intel(TestVectors.at(at))
        .verify(TestVectors.quote(set), TestVectors.collateral(set));
  }

  @Test
  void lunalV4QuoteVerifiesToIntelRootWithItsTcbStatusAndAdvisories() {
    QuoteVerification v = verify("lunal-v4", TestVectors.LUNAL_TIME);
    assertTrue(v.verified(), v.toString());
    assertEquals(Optional.of(TcbStatus.OUT_OF_DATE), v.tcbStatus(), "TCB evaluation 18 vs SVN 5");
    assertTrue(v.advisoryIds().contains("INTEL-SA-00837"), "advisories: " + v.advisoryIds());
    assertEquals(Optional.of("50806f000000"), v.fmspc());
    assertFalse(v.simulated());
    assertTrue(v.measurements().orElseThrow().debug(), "the lunal v4 TD is a debug TD");
  }

  /**
   * The go-tdx-guest v4 quote and the lunal v5 quote pass every cryptographic and collateral check,
   * but their PCKs' SGX SVNs are below every TCB level of the TCB Info shipped with them: Intel's
   * QVL reports that as "TCB not supported", and so does this verifier.
   */
  @ParameterizedTest
  @CsvSource({"go-tdx-guest-v4,2023-07-01T01:00:00Z", "lunal-v5,2026-04-01T00:00:00Z"})
  void quotesBelowEveryTcbLevelPassAllChecksButTheTcbLevel(String set, Instant at) {
    QuoteVerification v = verify(set, at);
    assertEquals(Optional.of(QuoteCheck.TCB_LEVEL), v.failedCheck(), v.toString());
    assertTrue(v.message().contains("TCB not supported"), v.message());
  }

  /**
   * Upstream ships no Root CA CRL, PCK CRL or QE Identity that is valid at the time its v5 TCB Info
   * is (2026-02-01..03-03), so a complete verification at 2026-02-03 stops at the expired Root CA
   * CRL.
   */
  @Test
  void goTdxGuestV5CollateralIsIncompleteAndTheExpiredItemIsNamed() {
    QuoteVerification v = verify("go-tdx-guest-v5", TestVectors.GO_V5_TIME);
    assertEquals(Optional.of(QuoteCheck.ROOT_CA_CRL), v.failedCheck(), v.toString());
    assertTrue(v.message().contains("Root CA CRL expired"), v.message());
  }

  /**
   * What can be checked of the go-tdx-guest v5 set: the signature of its TCB Info and the TCB
   * evaluation.
   */
  @Test
  void goTdxGuestV5TcbInfoIsIntelSignedAndEvaluatesTheTdx15Quote() throws Exception {
    Collateral c = TestVectors.collateral("go-tdx-guest-v5");
    assertTrue(
        QuoteVerifier.verifyRaw(
            c.tcbInfoIssuerChain.get(0).getPublicKey(),
            c.tcbInfoSigned.signedBytes(),
            c.tcbInfoSigned.signature()),
        "TCB Info signed by the 2025 Intel SGX TCB Signing key over its exact bytes");
    TdxQuote q = TdxQuote.parse(TestVectors.quote("go-tdx-guest-v5"));
    PckExtensions pck =
        PckExtensions.of(Pem.strictChain(q.signatureData().pckCertChain(), "PCK chain").get(0));
    java.util.List<String> advisories = new java.util.ArrayList<>();
    TcbStatus status = QuoteVerifier.checkTcb(c.tcbInfo, pck, q.report(), advisories);
    assertEquals(1, q.report().teeTcbSvn()[1], "TDX module major version 1: TDX_01 identity path");
    assertEquals(TcbStatus.UP_TO_DATE, status, "TEE_TCB_SVN 0b0104.. reaches the UpToDate level");

    // The time-independent signatures of the quote itself.
    var sig = q.signatureData();
    var leaf = Pem.strictChain(sig.pckCertChain(), "PCK chain").get(0);
    assertTrue(
        QuoteVerifier.verifyRaw(
            leaf.getPublicKey(), sig.qeReport().raw(), sig.qeReportSignature()));
    assertTrue(
        java.util.Arrays.equals(
            QuoteVerifier.sha256(sig.attestationKey(), sig.qeAuthData()),
            java.util.Arrays.copyOf(sig.qeReport().reportData(), 32)));
    byte[] bytes = q.toBytes();
    assertTrue(
        QuoteVerifier.verifyRaw(
            QuoteVerifier.p256Key(sig.attestationKey()),
            bytes,
            0,
            q.signedLength(),
            sig.quoteSignature()),
        "v5 quote signature covers header, body descriptor and the 648-byte body");
  }

  @ParameterizedTest
  @CsvSource({
    "go-tdx-guest-v4, 2023-06-17T00:00:00Z, TCB_INFO_VALIDITY, TCB Info is not valid before",
    "go-tdx-guest-v4, 2023-07-08T07:26:00Z, QE_IDENTITY_VALIDITY, QE Identity expired",
    "go-tdx-guest-v4, 2023-07-10T00:00:00Z, PCK_CRL, PCK CRL expired",
    "go-tdx-guest-v4, 2025-01-01T00:00:00Z, ROOT_CA_CRL, Root CA CRL expired",
    "lunal-v4, 2026-04-15T22:17:00Z, QE_IDENTITY_VALIDITY, QE Identity expired",
    "lunal-v4, 2026-04-15T22:25:00Z, TCB_INFO_VALIDITY, TCB Info expired",
    "lunal-v4, 2026-04-16T00:00:00Z, PCK_CRL, PCK CRL expired",
    "lunal-v4, 2026-03-01T00:00:00Z, PCK_CRL, PCK CRL is not valid before",
    "lunal-v4, 2052-01-01T00:00:00Z, PCK_CHAIN, root CA certificate 'CN=Intel SGX Root CA"
  })
  void outsideTheValidityWindowTheExpiringItemIsNamed(
      String set, Instant at, QuoteCheck check, String expected) {
    QuoteVerification v = verify(set, at);
    assertEquals(Optional.of(check), v.failedCheck(), v.toString());
    assertTrue(v.message().contains(expected), "message should contain '" + expected + "': " + v);
  }

  @Test
  void tcbSigningCertificateExpiryIsNamed() {
    // go-tdx-guest's TCB signing certificate expired 2025-05-21; pair its TCB Info with CRLs that
    // are
    // still valid after that date to reach the certificate check.
    var go = TestVectors.dir("go-tdx-guest-v4");
    var lunal = TestVectors.dir("lunal-v4");
    Collateral mixed =
        Collateral.of(
            read(lunal.resolve("tcb_info.json")),
            read(lunal.resolve("qe_identity.json")),
            read(go.resolve("tcb_info_issuer_chain.pem")),
            read(lunal.resolve("qe_identity_issuer_chain.pem")),
            read(lunal.resolve("pck_crl.der")),
            null,
            read(lunal.resolve("root_ca_crl.der")),
            null);
    QuoteVerification v =
        QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME))
            .verify(TestVectors.quote("lunal-v4"), mixed);
    assertEquals(Optional.of(QuoteCheck.TCB_INFO_SIGNATURE), v.failedCheck(), v.toString());
    assertTrue(
        v.message().contains("TCB Info signing certificate 'CN=Intel SGX TCB Signing"),
        v.message());
    assertTrue(v.message().contains("expired 2025-05-21T10:50:10Z"), v.message());
  }

  @Test
  void collateralForAnotherPlatformIsRejected() {
    var lunal = TestVectors.dir("lunal-v5");
    var v4 = TestVectors.dir("lunal-v4");
    Collateral wrongFmspc =
        Collateral.of(
            read(lunal.resolve("tcb_info.json")),
            read(v4.resolve("qe_identity.json")),
            read(v4.resolve("tcb_info_issuer_chain.pem")),
            read(v4.resolve("qe_identity_issuer_chain.pem")),
            read(v4.resolve("pck_crl.der")),
            null,
            read(v4.resolve("root_ca_crl.der")),
            null);
    QuoteVerification v =
        QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME))
            .verify(TestVectors.quote("lunal-v4"), wrongFmspc);
    assertEquals(Optional.of(QuoteCheck.TCB_INFO_MATCH), v.failedCheck(), v.toString());
    assertTrue(v.message().contains("90c06f000000"), v.message());
  }

  /**
   * Every single-byte change anywhere in the declared quote — header, TD report, signature length,
   * quote signature, attestation key, certification data headers, QE report, its signature, QE auth
   * data and the PEM PCK chain — is caught. Collateral is parsed once and reused.
   */
  @Test
  void everySingleByteFlipInTheQuoteIsCaught() {
    byte[] good = TdxQuote.parse(TestVectors.quote("lunal-v4")).toBytes();
    Collateral collateral = TestVectors.collateral("lunal-v4");
    QuoteVerifier verifier = QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME));
    assertTrue(verifier.verify(good, collateral).verified(), "baseline must verify");
    for (int i = 0; i < good.length; i++) {
      byte[] bad = good.clone();
      bad[i] ^= 0x01;
      QuoteVerification v = verifier.verify(bad, collateral);
      if (v.verified()) {
        fail("flipping the low bit of the byte at offset " + i + " went unnoticed");
      }
    }
  }

  @Test
  void flipsInTheSignedRegionAreCaughtByTheQuoteSignatureOnV5() {
    byte[] good = TdxQuote.parse(TestVectors.quote("lunal-v5")).toBytes();
    Collateral collateral = TestVectors.collateral("lunal-v5");
    QuoteVerifier verifier = QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME));
    int signed = TdxQuote.parse(good).signedLength();
    for (int i = 54; i < signed; i++) {
      byte[] bad = good.clone();
      bad[i] ^= 1;
      QuoteVerification v = verifier.verify(bad, collateral);
      assertEquals(
          Optional.of(QuoteCheck.QUOTE_SIGNATURE), v.failedCheck(), "offset " + i + ": " + v);
    }
  }

  @Test
  void collateralSignaturesCoverTheExactBytesAsServed() {
    var dir = TestVectors.dir("lunal-v4");
    String body =
        new String(read(dir.resolve("tcb_info.json")), java.nio.charset.StandardCharsets.UTF_8);
    // Same JSON value, one more space: a verifier that re-serialized would not notice.
    String spaced = body.replaceFirst("\"id\":\"TDX\"", "\"id\": \"TDX\"");
    Collateral c =
        Collateral.of(
            spaced.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            read(dir.resolve("qe_identity.json")),
            read(dir.resolve("tcb_info_issuer_chain.pem")),
            read(dir.resolve("qe_identity_issuer_chain.pem")),
            read(dir.resolve("pck_crl.der")),
            null,
            read(dir.resolve("root_ca_crl.der")),
            null);
    QuoteVerification v =
        QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME))
            .verify(TestVectors.quote("lunal-v4"), c);
    assertEquals(Optional.of(QuoteCheck.TCB_INFO_SIGNATURE), v.failedCheck(), v.toString());
  }

  @Test
  void incompleteCollateralDirectoriesNameTheMissingFile(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
    java.nio.file.Files.write(
        dir.resolve("tcb_info.json"), read(TestVectors.dir("lunal-v4").resolve("tcb_info.json")));
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> Collateral.load(dir));
    assertTrue(e.getMessage().contains("missing qe_identity.json"), e.getMessage());
  }

  static byte[] read(java.nio.file.Path p) {
    try {
      return java.nio.file.Files.readAllBytes(p);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
