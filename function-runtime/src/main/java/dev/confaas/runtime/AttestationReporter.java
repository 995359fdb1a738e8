package dev.confaas.runtime;

import java.util.List;
import java.util.Map;

/**
 * Produces the TD's evidence for Report: the seam where the attestation module (real TDX through
 * configfs-tsm, or the simulated TDX module) and the agent's identity key plug in.
 */
interface AttestationReporter {
  /**
   * Evidence for one nonce.
   *
   * @param quote TD quote whose REPORTDATA is {@link
   *     dev.confaas.agent.ReportDataBinding#of}(identityPublicKey, sealingPublicKey, nonce)
   * @param rtmrLogs measurement log lines by RTMR index (3 = images, ACON format)
   * @param identityPublicKey the agent's identity key, X.509 SubjectPublicKeyInfo DER
   * @param sealingPublicKey the agent's HPKE public key ({@link dev.confaas.agent.SealingSuite})
   * @param attestationData extra JSON, may be empty
   */
  record Evidence(
      byte[] quote,
      Map<Integer, List<String>> rtmrLogs,
      byte[] identityPublicKey,
      byte[] sealingPublicKey,
      byte[] attestationData) {}

  /** Makes evidence binding {@code nonce} (16 to 64 bytes, checked by the caller). */
  Evidence report(byte[] nonce) throws Exception;
}
