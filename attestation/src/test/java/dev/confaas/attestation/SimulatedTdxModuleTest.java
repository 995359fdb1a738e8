package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulatedTdxModuleTest {
  static final Instant NOW = Instant.parse("2026-11-22T07:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  static SimulatedPki pki;
  static Collateral collateral;

  @BeforeAll
  static void pki() {
    pki = SimulatedPki.generate(NOW);
    collateral = pki.collateral(CLOCK, Duration.ofDays(30));
  }

  private static byte[] agent() {
    return "agent.jar bytes".getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void simulatedQuoteVerifiesThroughTheSameVerifierWhenItsRootIsTrusted() {
    SimulatedTdxModule td = new SimulatedTdxModule(pki, agent());
    byte[] key = "identity key".getBytes(StandardCharsets.US_ASCII);
    byte[] nonce = "pool nonce".getBytes(StandardCharsets.US_ASCII);
    RtmrLog log = RtmrLog.empty().appendManifest("sha384/abc/def");
    for (String line : log.lines()) {
      td.extendRtmr(3, RtmrLog.sha384(line.getBytes(StandardCharsets.US_ASCII)));
    }
    byte[] quote = td.getQuote(ReportData.bind(key, nonce));

    QuoteVerification v =
        QuoteVerifier.trusting(pki.rootCertificate(), CLOCK).verify(quote, collateral);
    assertTrue(v.verified(), v.toString());
    assertEquals(Optional.of(TcbStatus.UP_TO_DATE), v.tcbStatus());
    assertEquals(Optional.of("c0ffee000000"), v.fmspc());
    assertTrue(v.simulated(), "verified under the dev root: " + v.rootSubject());

    Appraisal a =
        ReferenceValues.builder()
            .allowMrTd(RtmrLog.sha384(agent()))
            .allowRtmr(0, new byte[48])
            .rtmr3Log(log)
            .reportData(ReportData.bind(key, nonce))
            .build()
            .appraise(v);
    assertTrue(a.accepted(), a.toString());
  }

  @Test
  void intelVerifierRefusesSimulatedQuotesSayingSo() {
    byte[] quote = new SimulatedTdxModule(pki, agent()).getQuote(new byte[64]);
    QuoteVerification v = QuoteVerifier.intel(CLOCK).verify(quote, collateral);
    assertEquals(Optional.of(QuoteCheck.TRUSTED_ROOT), v.failedCheck(), v.toString());
    assertTrue(v.message().contains("SIMULATED"), v.message());
  }

  @Test
  void simulatedQuotesHaveTheV4LayoutAndRoundTrip() {
    TdxQuote q = new SimulatedTdxModule(pki, true, agent()).quote(new byte[64]);
    byte[] bytes = q.toBytes();
    TdxQuote parsed = TdxQuote.parse(bytes);
    assertEquals(4, parsed.version());
    assertEquals(632, parsed.signedLength());
    assertArrayEquals(bytes, parsed.toBytes());
    assertTrue(parsed.report().debug());
  }

  @Test
  void rtmrExtendIsSha384OfOldValueAndDigest() {
    SimulatedTdxModule td = new SimulatedTdxModule(pki, agent());
    RtmrLog log = RtmrLog.empty().appendManifest("sha384/a/b").appendFinalize();
    for (String l : log.lines()) {
      td.extendRtmr(3, RtmrLog.sha384(l.getBytes(StandardCharsets.US_ASCII)));
    }
    assertArrayEquals(log.value(), td.rtmrs().get(3));
    assertArrayEquals(log.value(), TdxQuote.parse(td.getQuote(new byte[64])).report().rtmr(3));
  }

  @Test
  void persistedPkiIsSharedBetweenPoolAndTds(@TempDir Path dir) {
    SimulatedPki created = SimulatedPki.loadOrCreate(dir, CLOCK);
    SimulatedPki loaded = SimulatedPki.loadOrCreate(dir, CLOCK);
    assertEquals(created.rootCertificate(), loaded.rootCertificate());
    byte[] quote = new SimulatedTdxModule(loaded, agent()).getQuote(new byte[64]);
    collateralFrom(created, dir.resolve("collateral"));
    QuoteVerification v =
        QuoteVerifier.trusting(created.rootCertificate(), CLOCK)
            .verify(quote, Collateral.load(dir.resolve("collateral")));
    assertTrue(v.verified(), v.toString());
  }

  private static void collateralFrom(SimulatedPki p, Path dir) {
    p.collateral(CLOCK, Duration.ofDays(1)).writeTo(dir);
  }

  /**
   * Every byte a simulated TD signs or certifies — header, TD report, signatures, attestation key,
   * QE report, auth data — is protected as on hardware. (The PEM chain region is the same code path
   * as for real quotes, covered byte by byte in QuoteVerifierTest.)
   */
  @Test
  void everySingleByteFlipOfASimulatedQuoteIsCaught() {
    TdxQuote q = new SimulatedTdxModule(pki, agent()).quote(new byte[64]);
    byte[] good = q.toBytes();
    QuoteVerifier verifier = QuoteVerifier.trusting(pki.rootCertificate(), CLOCK);
    assertTrue(verifier.verify(good, collateral).verified());
    int chainStart = good.length - q.signatureData().pckCertChain().length;
    for (int i = 0; i < chainStart + 64; i++) {
      byte[] bad = good.clone();
      bad[i] ^= 1;
      if (verifier.verify(bad, collateral).verified()) {
        fail("flip at offset " + i + " went unnoticed");
      }
    }
  }

  @Test
  void aRevokedPckIsRefused() {
    byte[] quote = new SimulatedTdxModule(pki, agent()).getQuote(new byte[64]);
    Collateral revoking = pki.collateral(CLOCK, Duration.ofDays(30), true);
    QuoteVerification v =
        QuoteVerifier.trusting(pki.rootCertificate(), CLOCK).verify(quote, revoking);
    assertEquals(Optional.of(QuoteCheck.PCK_CRL), v.failedCheck(), v.toString());
    assertTrue(v.message().contains("is revoked by the PCK CRL"), v.message());
  }

  @Test
  void simulatedCollateralExpires() {
    byte[] quote = new SimulatedTdxModule(pki, agent()).getQuote(new byte[64]);
    QuoteVerification v =
        QuoteVerifier.trusting(
                pki.rootCertificate(), Clock.fixed(NOW.plus(Duration.ofDays(31)), ZoneOffset.UTC))
            .verify(quote, collateral);
    assertFalse(v.verified());
    assertTrue(v.message().contains("expired"), v.message());
  }
}
