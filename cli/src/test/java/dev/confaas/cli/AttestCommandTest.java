package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttestCommandTest {
  /** The real lunal quotes and collateral kept with the attestation module's tests. */
  static final Path LUNAL_V4 = Path.of("../attestation/src/test/resources/tdx/lunal-v4");

  static final Path LUNAL_V5 = Path.of("../attestation/src/test/resources/tdx/lunal-v5");
  static final String LUNAL_TIME = "2026-04-01T00:00:00Z";

  record Run(int exit, String out, String err) {}

  static Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int exit = Main.run(args);
      return new Run(
          exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @BeforeAll
  static void testDataIsThere() {
    assertTrue(
        Files.isRegularFile(LUNAL_V4.resolve("quote.dat")), "missing " + LUNAL_V4.toAbsolutePath());
  }

  @Test
  void realDebugQuoteVerifiesButIsRefusedUnlessDebugIsAllowed() {
    String quote = LUNAL_V4.resolve("quote.dat").toString();
    Run refused =
        run(
            "attest",
            "verify-quote",
            quote,
            "--collateral",
            LUNAL_V4.toString(),
            "--at",
            LUNAL_TIME);
    assertEquals(1, refused.exit(), refused.toString());
    assertTrue(
        refused.err().contains("appraisal failed") && refused.err().contains("DEBUG"),
        refused.err());
    assertEquals(1, refused.err().strip().lines().count(), "one-line reason: " + refused.err());

    Run allowed =
        run(
            "attest",
            "verify-quote",
            quote,
            "--collateral",
            LUNAL_V4.toString(),
            "--at",
            LUNAL_TIME,
            "--allow-debug");
    assertEquals(0, allowed.exit(), allowed.toString());
    assertTrue(allowed.out().contains("verified: TCB status OutOfDate"), allowed.out());
    assertTrue(allowed.out().contains("INTEL-SA-"), allowed.out());
    assertTrue(allowed.out().contains("MRTD "), allowed.out());
  }

  @Test
  void jsonOutputCarriesStatusAdvisoriesAndMeasurements() throws IOException {
    Run r =
        run(
            "attest",
            "verify-quote",
            LUNAL_V4.resolve("quote.dat").toString(),
            "--collateral",
            LUNAL_V4.toString(),
            "--at",
            LUNAL_TIME,
            "--allow-debug",
            "--json");
    assertEquals(0, r.exit(), r.toString());
    var json = AttestCommand.JSON.readTree(r.out());
    assertEquals("OutOfDate", json.get("tcbStatus").asText());
    assertEquals(96, json.get("measurements").get("MRTD").asText().length());
    assertTrue(json.get("advisoryIds").size() > 0);
  }

  @Test
  void expiredCollateralFailsNamingTheCheck() {
    Run r =
        run(
            "attest",
            "verify-quote",
            LUNAL_V5.resolve("quote.dat").toString(),
            "--collateral",
            LUNAL_V5.toString(),
            "--at",
            "2026-05-01T00:00:00Z");
    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.err().contains("quote rejected: PCK_CRL: PCK CRL expired"), r.err());
  }

  @Test
  void usageErrorsExitTwo() {
    assertEquals(2, run("attest", "verify-quote", "q.dat").exit(), "--collateral is required");
    assertEquals(
        2,
        run(
                "attest",
                "verify-quote",
                LUNAL_V4.resolve("quote.dat").toString(),
                "--collateral",
                LUNAL_V4.toString(),
                "--at",
                "yesterday")
            .exit());
  }

  @Test
  void simulatedQuoteNeedsItsDevRootToBeTrusted(@TempDir Path dir) throws IOException {
    Instant now = Instant.parse("2026-11-22T07:00:00Z");
    Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    SimulatedPki pki = SimulatedPki.loadOrCreate(dir.resolve("pki"), clock);
    pki.collateral(clock, Duration.ofDays(30)).writeTo(dir.resolve("collateral"));
    Path quote = dir.resolve("quote.dat");
    Files.write(
        quote,
        new SimulatedTdxModule(pki, "agent".getBytes(StandardCharsets.UTF_8))
            .getQuote(new byte[64]));

    Run refused =
        run(
            "attest",
            "verify-quote",
            quote.toString(),
            "--collateral",
            dir.resolve("collateral").toString(),
            "--at",
            now.toString());
    assertEquals(1, refused.exit(), refused.toString());
    assertTrue(refused.err().contains("SIMULATED"), refused.err());

    Run trusted =
        run(
            "attest",
            "verify-quote",
            quote.toString(),
            "--collateral",
            dir.resolve("collateral").toString(),
            "--at",
            now.toString(),
            "--trust-root",
            dir.resolve("pki/root.pem").toString());
    assertEquals(0, trusted.exit(), trusted.toString());
    assertTrue(trusted.out().contains("verified: TCB status UpToDate"), trusted.out());
    assertTrue(trusted.out().contains("WARNING: SIMULATED"), trusted.out());
  }

  @Test
  void replayRtmrPrintsTheValueAndComparesWithAQuote(@TempDir Path dir) throws IOException {
    RtmrLog log = RtmrLog.empty().appendManifest("sha384/abc/def").appendFinalize();
    Path file = dir.resolve("rtmr3.log");
    Files.writeString(file, log.toText());
    Run r = run("attest", "replay-rtmr", file.toString());
    assertEquals(0, r.exit(), r.toString());
    assertEquals(log.valueHex(), r.out().strip());

    Run json = run("attest", "replay-rtmr", file.toString(), "--json");
    assertEquals(log.valueHex(), AttestCommand.JSON.readTree(json.out()).get("rtmr").asText());

    Run mismatch =
        run(
            "attest",
            "replay-rtmr",
            file.toString(),
            "--quote",
            LUNAL_V4.resolve("quote.dat").toString());
    assertEquals(1, mismatch.exit(), mismatch.toString());
    assertTrue(mismatch.err().contains("RTMR3 mismatch"), mismatch.err());
  }

  @Test
  void missingFilesAreNamed() {
    Run r = run("attest", "replay-rtmr", "/nonexistent/rtmr3.log");
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("/nonexistent/rtmr3.log does not exist"), r.err());
  }
}
