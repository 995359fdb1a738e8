package dev.confaas.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One TD as {@code GET /v1/tds} shows it.
 *
 * @param id the TD's platform-unique ID
 * @param backend {@code process}, {@code qemu} or {@code qemu-tdx}
 * @param accelerator what runs its vCPUs: {@code kvm} or {@code tcg} for a VM, {@code none} for an
 *     agent process on the host
 * @param state where it is in its life
 * @param age time since its boot started
 * @param loadedImages image IDs loaded into it, in load order
 * @param rtmr3Log its RTMR3 log (ACON format) as of its last attestation, which the pool repeats
 *     after every image load so the log is current and vouched for by a verified quote
 * @param lastAttested when its last attestation (boot or periodic) succeeded; {@code null} before
 * @param reason why it is draining or stopped; empty otherwise
 * @param identityKeyId RFC 7638 thumbprint of its attested identity key, the {@code kid} of its
 *     receipts; empty before attestation
 * @param sealingPublicKey its HPKE sealing public key, base64url; empty before attestation
 */
public record TdInfo(
    String id,
    String backend,
    String accelerator,
    TdState state,
    Duration age,
    List<String> loadedImages,
    List<String> rtmr3Log,
    Instant lastAttested,
    String reason,
    String identityKeyId,
    String sealingPublicKey) {

  public TdInfo {
    loadedImages = List.copyOf(loadedImages);
    rtmr3Log = List.copyOf(rtmr3Log);
    reason = reason == null ? "" : reason;
    identityKeyId = identityKeyId == null ? "" : identityKeyId;
    sealingPublicKey = sealingPublicKey == null ? "" : sealingPublicKey;
  }
}
