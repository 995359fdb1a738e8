package dev.confaas.pool;

/**
 * Boot-time attestation (ARCHITECTURE.md, flow 1): asks the TD's agent for a quote over a fresh
 * nonce, verifies it, appraises it against the reference values, and pins the channel to the
 * identity key the quote binds. Only a TD that passes enters the warm pool.
 */
interface TdAttestor {

  /**
   * Attests a freshly launched TD; on success the returned TD's channel is pinned to its attested
   * identity key. On failure the caller closes {@code td}.
   *
   * @throws TdAttestationException naming every check that failed
   */
  AttestedTd attest(LaunchedTd td) throws TdAttestationException;

  /**
   * Re-attests a TD that is already in service (the pool's periodic check): asks its agent for a
   * quote over a fresh nonce, verifies it, checks that it binds the same identity key the channel is
   * pinned to, and that RTMR3 replays from the agent's log. Returns the TD's updated view (same
   * channel, new {@link AttestedTd#attestedAt()}, {@link AttestedTd#verification()} and {@link
   * AttestedTd#rtmr3Log()}).
   *
   * <p>The default says it is unsupported; the pool then relies on liveness and Inspect checks only.
   *
   * @throws TdAttestationException naming every check that failed; the pool then stops the TD
   */
  default AttestedTd reattest(AttestedTd td) throws TdAttestationException {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " does not implement re-attestation");
  }
}
