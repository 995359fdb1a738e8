package dev.confaas.runtime;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.RtmrLog;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

/**
 * Signs the receipt for each invocation (docs/receipts.md) with the TD's identity key, inside the
 * TD: what ran (image, the function's name and version as the instance sees them), where (TD ID,
 * RTMR3 and its log length, every image loaded), on what (SHA-256 of event and response) and when.
 * RTMR3 is the replay of the log the loader keeps in step with the register, read once per receipt
 * so that value, length and image list describe the same moment.
 */
final class ReceiptSigner {
  private final TlsIdentity identity;
  private final String tdId;
  private final Supplier<RtmrLog> rtmr3;
  private final Clock clock;

  /**
   * @param identity the attested identity key (its public key is bound by REPORTDATA)
   * @param tdId the TD ID the agent was launched with
   * @param rtmr3 the current RTMR3 log (e.g. {@link AconImageLoader#rtmr3Log})
   */
  public ReceiptSigner(TlsIdentity identity, String tdId, Supplier<RtmrLog> rtmr3, Clock clock) {
    this.identity = identity;
    this.tdId = tdId;
    this.rtmr3 = rtmr3;
    this.clock = clock;
  }

  public String tdId() {
    return tdId;
  }

  /**
   * @param name the deployed function name the instance ran as (its Start settings), or null
   * @param version the deployed version it ran as, or null
   * @param imageId the image that handled the event
   * @param event the event bytes the function received
   * @param result what came of it
   */
  String sign(String name,
      String version, String imageId, byte[] event, InstanceOutcome result) {
    return sign(
        name,
        version,
        imageId,
        result,
        Receipt.sha256(event),
        result.succeeded() ? Receipt.sha256(result.payload()) : null,
        false,
        null,
        null);
  }

  /**
   * The receipt for a sealed invocation: hashes over the encapsulated request and response (what
   * the host relayed), and the plaintexts' MACs under the key only the caller shares.
   */
  String signSealed(
      String name,
      String version,
      String imageId,
      byte[] sealedRequest,
      byte[] sealedResponse,
      InstanceOutcome result,
      String eventMac,
      String responseMac) {
    return sign(
        name,
        version,
        imageId,
        result,
        Receipt.sha256(sealedRequest),
        Receipt.sha256(sealedResponse),
        true,
        eventMac,
        responseMac);
  }

  private String sign(
      String name,
      String version,
      String imageId,
      InstanceOutcome result,
      String eventSha256,
      String responseSha256,
      boolean sealed,
      String eventMac,
      String responseMac) {
    RtmrLog log = rtmr3.get();
    List<String> images =
        log.lines().stream()
            .filter(l -> l.startsWith(RtmrLog.ADD_MANIFEST_PREFIX))
            .map(l -> l.substring(RtmrLog.ADD_MANIFEST_PREFIX.length()))
            .toList();
    Receipt.Claims claims =
        new Receipt.Claims(
            result.requestId(),
            name,
            version,
            imageId,
            tdId,
            eventSha256,
            responseSha256,
            result.succeeded() ? null : result.failure().kind().name(),
            log.valueHex(),
            log.size(),
            images,
            clock.instant().getEpochSecond(),
            sealed,
            eventMac,
            responseMac);
    return Receipt.sign(claims, identity.publicKey(), identity::signEs384);
  }
}
