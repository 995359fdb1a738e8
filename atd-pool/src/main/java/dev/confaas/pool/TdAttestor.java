package dev.confaas.pool;

/**
 * Boot-time attestation (ARCHITECTURE.md, flow 1): asks the TD's agent for a quote over a fresh
 * nonce, verifies it, appraises it against the reference values, and pins the channel to the
 * identity key the quote binds. Only a TD that passes enters the warm pool.
 */
public interface TdAttestor {

  /**
   * Attests a freshly launched TD; on success the returned TD's channel is pinned to its attested
   * identity key. On failure the caller closes {@code td}.
   *
   * @throws TdAttestationException naming every check that failed
   */
  AttestedTd attest(LaunchedTd td) throws TdAttestationException;
}
