package dev.confaas.pool;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.AgentClientConfig;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.PeerKeyTrustManager;
import dev.confaas.agent.ReportDataBinding;
import dev.confaas.agent.SealingSuite;
import dev.confaas.agent.TdEvidence;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.MeasurementLog;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.attestation.Appraisal;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.RtmrLog;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Boot-time attestation for any backend whose agent speaks agent.proto (ARCHITECTURE.md, flow 1).
 *
 * <p>The handshake, in order:
 *
 * <ol>
 *   <li><b>First contact.</b> A mutual-TLS channel on which the host presents its own certificate
 *       (the agent refuses any other client) and accepts whatever key the agent presents, recording
 *       it ({@link PeerKeyTrustManager#firstContact()}). Only Report is sent on it, with a fresh
 *       32-byte random nonce; the channel is then closed.
 *   <li><b>Checks</b>, all of them, every failure named: the identity key in the reply equals the
 *       key the agent's TLS server presented; the quote verifies (DCAP path, pinned root); the
 *       appraisal against the reference values passes — MRTD, RTMR0..2, no debug, TCB status,
 *       REPORTDATA = {@link ReportDataBinding#of}(identity key, sealing key, nonce), RTMR3 = the
 *       replay of the returned log; that log is empty (a fresh TD has loaded nothing); the sealing
 *       key is an X25519 key of {@link SealingSuite}; and the TD ID the agent names itself by, if
 *       any, is the one it was launched as (it goes into every receipt).
 *   <li><b>Pinned channel.</b> A new mutual-TLS channel that accepts only the attested key ({@link
 *       PeerKeyTrustManager#pinnedTo}); one Inspect on it confirms the TLS session's peer key is
 *       the attested key. Only this channel is handed out, inside the TD's {@link AttestedTd#agent()}.
 * </ol>
 *
 * <p>{@link #reattest} repeats the checks on a TD in service, over its pinned channel: a fresh
 * nonce, the same verification and appraisal, except that RTMR3 must now equal the replay of the
 * (no longer empty) log the agent returns, and the identity and sealing keys in the Report must
 * still be the attested ones. The log it returns is thus always the one a verified quote vouches
 * for, and {@link AttestedTd#evidence()} is that quote with its nonce, log and keys.
 */
public final class QuoteTdAttestor implements TdAttestor {
  private static final int NONCE_BYTES = 32;
  /**
   * The default limit of each Report and Inspect here: a quote from a real TDX module can take
   * seconds.
   */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);

  private final AgentClientConfig calls;
  private final QuoteVerifier verifier;
  private final Function<byte[], Collateral> collateral;
  private final ReferenceValues reference;
  private final TlsIdentity host;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param verifier pinned to the root the backend's quotes chain to
   * @param collateral the collateral to verify with (fetched or cached by the caller)
   * @param reference MRTD, RTMR0..2 and the rest; REPORTDATA and the RTMR3 log are set per TD
   * @param host the host's TLS identity, the one client the agents accept
   */
  public QuoteTdAttestor(
      QuoteVerifier verifier,
      Supplier<Collateral> collateral,
      ReferenceValues reference,
      TlsIdentity host,
      Clock clock) {
    this(verifier, quote -> collateral.get(), reference, host, clock, DEFAULT_CALL_TIMEOUT);
  }

  /**
   * @param collateral the collateral for a quote (real TDX: the platform's, by the FMSPC in the
   *     quote's PCK certificate)
   * @param callTimeout the limit of each Report and Inspect (generous on a slow backend: a TCG
   *     guest answers its first Report many times slower than a host process)
   */
  QuoteTdAttestor(
      QuoteVerifier verifier,
      Function<byte[], Collateral> collateral,
      ReferenceValues reference,
      TlsIdentity host,
      Clock clock,
      Duration callTimeout) {
    this.verifier = verifier;
    this.collateral = collateral;
    this.reference = reference;
    this.host = host;
    this.clock = clock;
    this.calls = AgentClientConfig.DEFAULTS.withReport(callTimeout).withInspect(callTimeout);
  }

  @Override
  public AttestedTd attest(LaunchedTd td) throws TdAttestationException {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    PeerKeyTrustManager firstContact = PeerKeyTrustManager.firstContact();
    ReportResponse report;
    ManagedChannel unpinned = channel(td.agentTarget(), firstContact);
    try {
      AgentClient firstAgent = new AgentClient(unpinned, calls);
      report = whileHandshakesTimeOut(td, () -> report(firstAgent, nonce, td.id(), "Report"));
    } finally {
      unpinned.shutdownNow();
    }

    byte[] key = report.getIdentityPublicKey().toByteArray();
    byte[] sealing = report.getSealingPublicKey().toByteArray();
    List<String> failures = new ArrayList<>();
    Optional<byte[]> tlsKey = firstContact.seenKey();
    if (tlsKey.isEmpty() || !MessageDigest.isEqual(tlsKey.get(), key)) {
      failures.add(
          "IDENTITY_KEY: the key in the Report is not the key the agent's TLS server presented");
    }
    if (sealing.length != SealingSuite.PUBLIC_KEY_BYTES) {
      failures.add(
          "SEALING_KEY: the Report's sealing public key is "
              + sealing.length
              + " bytes; an X25519 HPKE key is "
              + SealingSuite.PUBLIC_KEY_BYTES
              + " (is the agent older than this pool?)");
    }
    if (!report.getTdId().isEmpty() && !report.getTdId().equals(td.id())) {
      failures.add(
          "TD_ID: the agent calls itself "
              + report.getTdId()
              + " but was launched as "
              + td.id()
              + "; its receipts would name the wrong TD");
    }
    List<String> lines =
        report.getRtmrLogsOrDefault(3, MeasurementLog.getDefaultInstance()).getEntriesList();
    RtmrLog log;
    try {
      log = RtmrLog.of(lines);
    } catch (IllegalArgumentException e) {
      failures.add("RTMR3_LOG: " + e.getMessage());
      log = null;
    }
    if (!lines.isEmpty()) {
      failures.add(
          "RTMR3_LOG: a freshly booted TD must have loaded nothing, but its log has "
              + lines.size()
              + " entries, starting with \""
              + lines.get(0)
              + "\"");
    }
    ReferenceValues.Builder expected = reference.toBuilder();
    if (sealing.length > 0) {
      expected.reportData(ReportDataBinding.of(key, sealing, nonce));
    }
    if (log != null) {
      expected.rtmr3Log(log);
    }
    byte[] quote = report.getQuote().toByteArray();
    QuoteVerification verification = verifier.verify(quote, collateral.apply(quote));
    Appraisal appraisal = expected.build().appraise(verification);
    appraisal.failures().forEach(f -> failures.add(f.toString()));
    if (!failures.isEmpty()) {
      throw new TdAttestationException(
          "TD "
              + td.id()
              + " failed attestation ("
              + failures.size()
              + " check"
              + (failures.size() == 1 ? "" : "s")
              + "): "
              + String.join("; ", failures));
    }

    ManagedChannel pinned =
        channel(
            td.agentTarget(),
            PeerKeyTrustManager.pinnedTo(key, "the attested agent of TD " + td.id()));
    try {
      whileHandshakesTimeOut(
          td,
          () -> {
            confirmSessionKey(pinned, key, td.id());
            return null;
          });
    } catch (TdAttestationException | RuntimeException e) {
      pinned.shutdownNow();
      throw e;
    }
    return new PinnedAttestedTd(
        td,
        pinned,
        new AgentClient(pinned),
        clock.instant(),
        verification,
        log.lines(),
        key,
        TdEvidence.fromReport(td.id(), td.backend(), nonce, report, Map.of()));
  }

  /**
   * How many Reports a re-attestation asks for before an RTMR3 mismatch counts: an image loaded
   * between the agent reading its log and taking its quote makes the two disagree once (the agent
   * reads the log first, see {@code QuoteReporter}); a log that does not replay keeps disagreeing.
   */
  private static final int REATTEST_ATTEMPTS = 3;

  @Override
  public AttestedTd reattest(AttestedTd td) throws TdAttestationException {
    if (!(td instanceof PinnedAttestedTd pinned)) {
      throw new TdAttestationException(
          "TD " + td.id() + " was not attested by this attestor; re-attest only what attest returned");
    }
    TdAttestationException last = null;
    for (int attempt = 1; attempt <= REATTEST_ATTEMPTS; attempt++) {
      try {
        return reattestOnce(pinned);
      } catch (Rtmr3Raced e) {
        last = e.failure;
      }
    }
    throw last;
  }

  /** Asks the agent for a Report over {@code nonce}; a failed call names {@code what} failed. */
  private ReportResponse report(AgentClient agent, byte[] nonce, String tdId, String what)
      throws TdAttestationException {
    return await(
        agent.report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build()),
        tdId,
        what + " failed");
  }

  /**
   * Waits for a call on the boot executor, where attestation runs. The call's own deadline ends
   * it; the wait's limit is only a backstop.
   */
  private <T> T await(CompletableFuture<T> call, String tdId, String what)
      throws TdAttestationException {
    try {
      return call.get(calls.report().plus(calls.inspect()).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      AgentCallException failed = AgentCallException.from(e);
      throw new TdAttestationException("TD " + tdId + ": " + what + ": " + failed.describe(), failed);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new TdAttestationException("TD " + tdId + ": " + what + ": no answer in time", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TdAttestationException("TD " + tdId + ": " + what + ": interrupted", e);
    }
  }

  /** A re-attestation whose only failure was RTMR3 against its log: worth asking again. */
  private static final class Rtmr3Raced extends Exception {
    final TdAttestationException failure;

    Rtmr3Raced(TdAttestationException failure) {
      super(failure.getMessage(), null, false, false);
      this.failure = failure;
    }
  }

  private PinnedAttestedTd reattestOnce(PinnedAttestedTd td)
      throws TdAttestationException, Rtmr3Raced {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    ReportResponse report =
        report(td.agent().withConfig(calls), nonce, td.id(), "Report on the pinned channel");
    byte[] pinnedKey = td.identityKey();
    byte[] sealing = td.sealingPublicKey();
    List<String> failures = new ArrayList<>();
    if (!MessageDigest.isEqual(pinnedKey, report.getIdentityPublicKey().toByteArray())) {
      failures.add(
          "IDENTITY_KEY: the key in the Report is not the identity key the TD was attested with"
              + " and its channel is pinned to");
    }
    if (!MessageDigest.isEqual(sealing, report.getSealingPublicKey().toByteArray())) {
      failures.add(
          "SEALING_KEY: the sealing key in the Report is not the one the TD was attested with;"
              + " events sealed to the attested key could no longer be opened");
    }
    List<String> lines =
        report.getRtmrLogsOrDefault(3, MeasurementLog.getDefaultInstance()).getEntriesList();
    RtmrLog log;
    try {
      log = RtmrLog.of(lines);
    } catch (IllegalArgumentException e) {
      failures.add("RTMR3_LOG: " + e.getMessage());
      log = null;
    }
    // REPORTDATA binds the pinned keys, so a quote over any other key fails here as well.
    ReferenceValues.Builder expected =
        reference.toBuilder().reportData(ReportDataBinding.of(pinnedKey, sealing, nonce));
    if (log != null) {
      expected.rtmr3Log(log);
    }
    byte[] quote = report.getQuote().toByteArray();
    QuoteVerification verification = verifier.verify(quote, collateral.apply(quote));
    Appraisal appraisal = expected.build().appraise(verification);
    appraisal.failures().forEach(f -> failures.add(f.toString()));
    if (!failures.isEmpty()) {
      TdAttestationException failed =
          new TdAttestationException(
              "TD "
                  + td.id()
                  + " failed re-attestation ("
                  + failures.size()
                  + " check"
                  + (failures.size() == 1 ? "" : "s")
                  + "): "
                  + String.join("; ", failures));
      boolean onlyRtmr3 =
          log != null && failures.size() == 1 && appraisal.failed(Appraisal.Check.RTMR3);
      if (onlyRtmr3) {
        throw new Rtmr3Raced(failed);
      }
      throw failed;
    }
    return td.reattested(
        clock.instant(),
        verification,
        log.lines(),
        TdEvidence.fromReport(td.id(), td.backend(), nonce, report, Map.of()));
  }

  /** A step of the attestation that talks to the agent. */
  @FunctionalInterface
  private interface AgentStep<T> {
    T run() throws TdAttestationException;
  }

  /**
   * Runs {@code step} again while it fails only because the TLS handshake with the agent timed
   * out, for at most the call limit. A TD on a slow backend needs this: its agent's first
   * handshakes (a cold JVM, an emulated CPU) can take longer than the 10 s a TLS handshake is
   * allowed on either side, gRPC gives up after a few quick retries, and each handshake tried warms
   * the agent up. Any other failure (a refused certificate, a quote that does not verify) fails at
   * once, as does a TD that exited.
   */
  private <T> T whileHandshakesTimeOut(LaunchedTd td, AgentStep<T> step)
      throws TdAttestationException {
    long end = System.nanoTime() + calls.report().toNanos();
    while (true) {
      try {
        return step.run();
      } catch (TdAttestationException e) {
        if (!handshakeTimedOut(e) || !td.isAlive() || System.nanoTime() > end) {
          throw e;
        }
      }
      try {
        Thread.sleep(1_000); // gRPC reconnects meanwhile, with its own back-off
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TdAttestationException("TD " + td.id() + ": interrupted", e);
      }
    }
  }

  private static boolean handshakeTimedOut(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SslHandshakeTimeoutException) {
        return true;
      }
    }
    return false;
  }

  /** One Inspect over the pinned channel, checking the TLS session's peer key. */
  private void confirmSessionKey(ManagedChannel pinned, byte[] key, String tdId)
      throws TdAttestationException {
    AtomicReference<SSLSession> session = new AtomicReference<>();
    ClientInterceptor capture =
        new ClientInterceptor() {
          @Override
          public <Q, R> ClientCall<Q, R> interceptCall(
              MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            ClientCall<Q, R> call = next.newCall(method, options);
            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
              @Override
              public void start(Listener<R> listener, Metadata headers) {
                super.start(
                    new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
                        listener) {
                      @Override
                      public void onHeaders(Metadata h) {
                        session.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                        super.onHeaders(h);
                      }
                    },
                    headers);
              }
            };
          }
        };
    await(
        new AgentClient(ClientInterceptors.intercept(pinned, capture), calls)
            .inspect(InspectRequest.getDefaultInstance()),
        tdId,
        "the pinned channel to the attested key failed");
    SSLSession s = session.get();
    try {
      Certificate[] peer = s == null ? new Certificate[0] : s.getPeerCertificates();
      if (peer.length == 0 || !MessageDigest.isEqual(peer[0].getPublicKey().getEncoded(), key)) {
        throw new TdAttestationException(
            "TD " + tdId + ": the pinned channel's TLS peer is not the attested identity key");
      }
    } catch (SSLPeerUnverifiedException e) {
      throw new TdAttestationException(
          "TD " + tdId + ": the pinned channel has no verified TLS peer", e);
    }
  }

  /**
   * A mutual-TLS channel presenting the host's certificate, trusting the agent through {@code
   * trust}.
   */
  ManagedChannel channel(String target, PeerKeyTrustManager trust) {
    TlsChannelCredentials.Builder tls =
        TlsChannelCredentials.newBuilder().keyManager(host.keyManagers()).trustManager(trust);
    return NettyChannelBuilder.forTarget(target, tls.build())
        .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
        .build();
  }
}
