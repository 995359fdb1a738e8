package dev.confaas.pool;

import dev.confaas.agent.AgentClient;
import dev.confaas.agent.TdEvidence;
import dev.confaas.attestation.QuoteVerification;
import io.grpc.ManagedChannel;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** An attested TD with its channel pinned to the attested identity key. */
final class PinnedAttestedTd implements AttestedTd {
  private final LaunchedTd td;
  private final ManagedChannel channel;
  private final AgentClient agent;
  private final Instant attestedAt;
  private final QuoteVerification verification;
  private final List<String> rtmr3Log;
  private final byte[] identityKey;
  private final TdEvidence evidence;

  PinnedAttestedTd(
      LaunchedTd td,
      ManagedChannel channel,
      AgentClient agent,
      Instant attestedAt,
      QuoteVerification verification,
      List<String> rtmr3Log,
      byte[] identityKey,
      TdEvidence evidence) {
    this.td = td;
    this.identityKey = identityKey.clone();
    this.evidence = evidence;
    this.channel = channel;
    this.agent = agent;
    this.attestedAt = attestedAt;
    this.verification = verification;
    this.rtmr3Log = List.copyOf(rtmr3Log);
  }

  @Override
  public String id() {
    return td.id();
  }

  @Override
  public String backend() {
    return td.backend();
  }

  @Override
  public AgentClient agent() {
    return agent;
  }

  @Override
  public Instant attestedAt() {
    return attestedAt;
  }

  @Override
  public QuoteVerification verification() {
    return verification;
  }

  @Override
  public List<String> rtmr3Log() {
    return rtmr3Log;
  }

  /** The identity key (DER) the channel is pinned to and every later quote must bind. */
  byte[] identityKey() {
    return identityKey.clone();
  }

  @Override
  public byte[] identityPublicKey() {
    return identityKey.clone();
  }

  @Override
  public byte[] sealingPublicKey() {
    return evidence.sealingPublicKey().clone();
  }

  @Override
  public Optional<TdEvidence> evidence() {
    return Optional.of(evidence);
  }

  /** The same TD and pinned channel with the outcome of a later attestation. */
  PinnedAttestedTd reattested(
      Instant at, QuoteVerification freshVerification, List<String> freshLog, TdEvidence fresh) {
    return new PinnedAttestedTd(
        td, channel, agent, at, freshVerification, freshLog, identityKey, fresh);
  }

  @Override
  public boolean isAlive() {
    return td.isAlive();
  }

  @Override
  public boolean channelFailing() {
    io.grpc.ConnectivityState state = channel.getState(false);
    return state == io.grpc.ConnectivityState.TRANSIENT_FAILURE
        || state == io.grpc.ConnectivityState.SHUTDOWN;
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    td.close();
  }

  @Override
  public String toString() {
    return "attested " + td;
  }
}
