package dev.confaas.runtime;

import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.ReportData;
import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.TdxGuest;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The agent's evidence: a quote from the TD's {@link TdxGuest} whose REPORTDATA is {@link
 * ReportData#bind}(identity key DER, nonce), the RTMR3 log (ACON format) to replay it, and the
 * identity key — the one the agent's TLS server presents, so a host that verified the quote can pin
 * its channel to it.
 */
public final class QuoteReporter implements AttestationReporter {
  private final TdxGuest tdx;
  private final TlsIdentity identity;
  private final Supplier<RtmrLog> rtmr3;

  /**
   * @param rtmr3 the current RTMR3 log (e.g. {@link AconImageLoader#rtmr3Log})
   */
  public QuoteReporter(TdxGuest tdx, TlsIdentity identity, Supplier<RtmrLog> rtmr3) {
    this.tdx = tdx;
    this.identity = identity;
    this.rtmr3 = rtmr3;
  }

  @Override
  public Evidence report(byte[] nonce) {
    byte[] key = identity.publicKeyDer();
    // The log is read before the quote: an image loaded in between makes the log shorter than the
    // quoted RTMR3, which the host reports as a mismatch rather than silently accepting.
    List<String> log = rtmr3.get().lines();
    byte[] quote = tdx.getQuote(ReportData.bind(key, nonce));
    return new Evidence(quote, Map.of(3, log), key, new byte[0]);
  }
}
