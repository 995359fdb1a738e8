package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AppraisalTest {
  private static QuoteVerification lunalV4() {
    return QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME))
        .verify(TestVectors.quote("lunal-v4"), TestVectors.collateral("lunal-v4"));
  }

  @Test
  void theDebugTdIsRejectedByTheDefaultPolicy() {
    QuoteVerification v = lunalV4();
    assertTrue(v.verified(), v.toString());
    Appraisal a =
        ReferenceValues.builder().worstTcbStatus(TcbStatus.OUT_OF_DATE).build().appraise(v);
    assertFalse(a.accepted());
    assertEquals(1, a.failures().size(), a.toString());
    assertTrue(a.failed(Appraisal.Check.DEBUG), a.toString());
    assertTrue(a.failures().get(0).message().contains("debug TD"), a.toString());
  }

  @Test
  void matchingReferenceValuesAreAccepted() {
    QuoteVerification v = lunalV4();
    TdReport r = v.measurements().orElseThrow();
    ReferenceValues ref =
        ReferenceValues.builder()
            .allowMrTd(r.mrTd())
            .allowRtmr(0, r.rtmr(0))
            .allowRtmr(1, r.rtmr(1))
            .allowRtmr(2, r.rtmr(2))
            .mrConfigId(r.mrConfigId())
            .mrOwner(r.mrOwner())
            .reportData(r.reportData())
            .allowDebug(true)
            .worstTcbStatus(TcbStatus.OUT_OF_DATE)
            .build();
    Appraisal a = ref.appraise(v);
    assertTrue(a.accepted(), a.toString());
    assertTrue(
        a.checked()
            .containsAll(
                Set.of(Appraisal.Check.MRTD, Appraisal.Check.RTMR2, Appraisal.Check.REPORT_DATA)));
  }

  @Test
  void everyFailedCheckIsNamedNotJustTheFirst() {
    QuoteVerification v = lunalV4();
    byte[] other = new byte[48];
    other[0] = 1;
    Appraisal a =
        ReferenceValues.builder()
            .allowMrTd(other)
            .allowRtmr(0, other)
            .allowRtmr(1, other)
            .allowRtmr(2, other)
            .rtmr3Log(RtmrLog.empty().appendManifest("sha384/x/y"))
            .mrConfigId(other)
            .mrOwner(other)
            .reportData(ReportData.bind(new byte[] {1}, new byte[] {2}))
            .build() // UpToDate required, debug forbidden
            .appraise(v);
    Set<Appraisal.Check> failed =
        a.failures().stream().map(Appraisal.Failure::check).collect(Collectors.toSet());
    assertEquals(
        Set.of(
            Appraisal.Check.TCB_STATUS,
            Appraisal.Check.MRTD,
            Appraisal.Check.RTMR0,
            Appraisal.Check.RTMR1,
            Appraisal.Check.RTMR2,
            Appraisal.Check.RTMR3,
            Appraisal.Check.MRCONFIGID,
            Appraisal.Check.MROWNER,
            Appraisal.Check.DEBUG,
            Appraisal.Check.REPORT_DATA),
        failed,
        a.toString());
  }

  @Test
  void anUnverifiedQuoteFailsAppraisalWithTheVerifierReason() {
    QuoteVerification v =
        QuoteVerifier.intel(TestVectors.at(TestVectors.LUNAL_TIME.plusSeconds(86400 * 30)))
            .verify(TestVectors.quote("lunal-v4"), TestVectors.collateral("lunal-v4"));
    Appraisal a = ReferenceValues.builder().allowDebug(true).build().appraise(v);
    assertTrue(a.failed(Appraisal.Check.QUOTE_VERIFICATION), a.toString());
    assertTrue(a.failures().get(0).message().startsWith("PCK_CRL"), a.toString());
  }
}
