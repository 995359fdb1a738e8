package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Struct layouts, ioctl numbers and the file protocols, against a fake sysfs/configfs tree. */
class TdxGuestsTest {

  @Test
  void getReport0IoctlNumberMatchesTheKernelHeader() {
    // _IOWR('T', 1, struct tdx_report_req) with sizeof = 64 + 1024 = 1088 = 0x440
    assertEquals(0xC4405401L, TdxGuestDevice.TDX_CMD_GET_REPORT0);
  }

  @Test
  void tdxReportReqLayoutIsReportDataThenTdReport() {
    TdxGuestDevice.TdxReportReq req = new TdxGuestDevice.TdxReportReq();
    assertEquals(1088, req.size());
    assertEquals(0, req.offsetOf("reportdata"));
    assertEquals(64, req.offsetOf("tdreport"));
  }

  @Test
  void rtmrsSitAtTheirTdInfoOffsetsInATdReport() {
    byte[] report = new byte[1024];
    for (int i = 0; i < 4; i++) {
      report[720 + 48 * i] = (byte) (i + 1);
    }
    var rtmrs = TdxGuestDevice.rtmrs(report);
    for (int i = 0; i < 4; i++) {
      assertEquals(i + 1, rtmrs.get(i)[0], "RTMR" + i);
    }
  }

  @Test
  void detectionFindsNothingOnAPlainTree(@TempDir Path root) {
    TdxGuests.Detection d = TdxGuests.detect(root);
    assertFalse(d.canQuote());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> TdxGuests.open(root));
    assertTrue(e.getMessage().contains("simulated"), e.getMessage());
  }

  @Test
  void configfsTsmProtocolWritesInblobAndReadsOutblob(@TempDir Path root) throws IOException {
    // A fake configfs report directory as the kernel would present it after mkdir.
    SimulatedPki pki = SimulatedPki.generate(Instant.parse("2026-11-22T07:00:00Z"));
    byte[] reportData = ReportData.bind(new byte[] {1, 2, 3}, new byte[] {4});
    byte[] quote = new SimulatedTdxModule(pki, new byte[] {9}).getQuote(reportData);
    Path report = root.resolve(TdxGuests.TSM_REPORT).resolve("r1");
    Files.createDirectories(report);
    Files.writeString(report.resolve("provider"), "tdx_guest\n");
    Files.writeString(report.resolve("generation"), "1\n");
    Files.write(report.resolve("outblob"), quote);
    Files.createDirectories(root.resolve(TdxGuests.MEASUREMENTS));
    for (int i = 0; i < 4; i++) {
      Files.write(
          root.resolve(TdxGuests.MEASUREMENTS).resolve("rtmr" + i + ":sha384"), new byte[48]);
    }
    TdxGuests.Detection d = TdxGuests.detect(root);
    assertTrue(d.configfsTsm() && d.rtmrSysfs() && !d.tdxGuestDevice(), d.toString());

    ConfigfsTsmQuotes quotes =
        new ConfigfsTsmQuotes(root.resolve(TdxGuests.TSM_REPORT), () -> "r1");
    assertArrayEquals(quote, quotes.quote(reportData));
    assertArrayEquals(reportData, Files.readAllBytes(report.resolve("inblob")), "inblob written");

    IllegalStateException wrong =
        assertThrows(IllegalStateException.class, () -> quotes.quote(new byte[64]));
    assertTrue(wrong.getMessage().contains("different REPORTDATA"), wrong.getMessage());

    Files.writeString(report.resolve("provider"), "sev_guest\n");
    IllegalStateException sev =
        assertThrows(IllegalStateException.class, () -> quotes.quote(reportData));
    assertTrue(sev.getMessage().contains("not tdx_guest"), sev.getMessage());
  }

  @Test
  void rtmrSysfsExtendWritesTheDigest(@TempDir Path root) throws IOException {
    Files.createDirectories(root.resolve(TdxGuests.TSM_REPORT));
    Path m = Files.createDirectories(root.resolve(TdxGuests.MEASUREMENTS));
    for (int i = 0; i < 4; i++) {
      Files.write(m.resolve("rtmr" + i + ":sha384"), new byte[48]);
    }
    TdxGuest guest = TdxGuests.open(root);
    byte[] digest = RtmrLog.sha384("x".getBytes());
    guest.extendRtmr(3, digest);
    assertArrayEquals(
        digest,
        Files.readAllBytes(m.resolve("rtmr3:sha384")),
        "the kernel extends; we write the digest");
    assertEquals(4, guest.rtmrs().size());
  }
}
