package dev.confaas.pool;

import dev.confaas.agent.AgentClient;
import dev.confaas.attestation.QuoteVerification;
import java.time.Instant;
import java.util.List;

/**
 * A TD that passed attestation. Its {@link #agent()} client talks over an authenticated channel:
 * pinned to the identity key the agent bound into its quote's REPORTDATA, so whatever is sent on it
 * reaches that TD and no other.
 */
public interface AttestedTd extends AutoCloseable {

  String id();

  String backend();

  /** The client of the TD's agent, over the channel pinned to the attested identity key. */
  AgentClient agent();

  /** When the last successful attestation (boot or re-attestation) completed. */
  Instant attestedAt();

  /** The verified quote's result from the last attestation (measurements, TCB status). */
  QuoteVerification verification();

  /** The RTMR3 log (ACON format) as of the last attestation. */
  List<String> rtmr3Log();

  /** The identity public key (SubjectPublicKeyInfo DER) the TD was attested with; empty if none. */
  default byte[] identityPublicKey() {
    return new byte[0];
  }

  /**
   * The TD's HPKE sealing public key (agent-api's {@code SealingSuite}, 32 bytes), bound by its
   * quote together with the identity key; empty if none.
   */
  default byte[] sealingPublicKey() {
    return new byte[0];
  }

  /**
   * The evidence of the last attestation — its quote and nonce, RTMR3 log and both keys — as a
   * caller verifies it offline (docs/receipts.md); empty if this TD has none to show.
   */
  default java.util.Optional<dev.confaas.agent.TdEvidence> evidence() {
    return java.util.Optional.empty();
  }

  /** False once the TD has exited. */
  boolean isAlive();

  /**
   * True while the channel to the agent is failing (gRPC TRANSIENT_FAILURE or SHUTDOWN): it cannot
   * connect. A channel that is merely slow is not failing.
   */
  default boolean channelFailing() {
    return false;
  }

  /** Stops the TD; idempotent. */
  @Override
  void close();
}
