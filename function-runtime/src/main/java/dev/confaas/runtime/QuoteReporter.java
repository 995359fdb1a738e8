package dev.confaas.runtime;

import dev.confaas.agent.ReportDataBinding;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.TdxGuest;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The agent's evidence: a quote from the TD's {@link TdxGuest} whose REPORTDATA is {@link
 * ReportDataBinding#of}(identity key DER, sealing public key, nonce), the RTMR3 log (ACON format)
 * to replay it, and both keys — the identity key is the one the agent's TLS server presents (so a
 * host that verified the quote can pin its channel to it) and signs receipts; the sealing key is
 * what callers seal events to.
 */
public final class QuoteReporter implements AttestationReporter {
  private final TdxGuest tdx;
  private final TlsIdentity identity;
  private final SealingKey sealing;
  private final Supplier<RtmrLog> rtmr3;

  /**
   * @param rtmr3 the current RTMR3 log (e.g. {@link AconImageLoader#rtmr3Log})
   */
  public QuoteReporter(
      TdxGuest tdx, TlsIdentity identity, SealingKey sealing, Supplier<RtmrLog> rtmr3) {
    this.tdx = tdx;
    this.identity = identity;
    this.sealing = sealing;
    this.rtmr3 = rtmr3;
  }

  @Override
  public Evidence report(byte[] nonce) {
    byte[] key = identity.publicKeyDer();
    byte[] sealingKey = sealing.publicKey();
    // The log is read before the quote: an image loaded in between makes the log shorter than the
    // quoted RTMR3, which the host reports as a mismatch rather than silently accepting.
    List<String> log = rtmr3.get().lines();
    byte[] quote = tdx.getQuote(ReportDataBinding.of(key, sealingKey, nonce));
    return new Evidence(quote, Map.of(3, log), key, sealingKey, new byte[0]);
  }
}
