package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.agent.PeerKeyTrustManager;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.TdAgentGrpc;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's transport: mutual TLS, the host pinned to the attested key and the agent to the
 * host's key. Whoever holds neither gets nothing; a TD that does not match is not attested.
 */
class AgentTransportTest {
  @TempDir static Path tmp;
  private static ProcessTdLauncher launcher;
  private static LaunchedTd launched;
  private static AttestedTd td;

  @BeforeAll
  static void boot() throws Exception {
    launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")));
    launched = launcher.launch("td-transport");
    td = launcher.attestor().attest(launched);
  }

  @AfterAll
  static void shutDown() {
    td.close();
    launcher.close();
  }

  private static InspectResponse inspect(ManagedChannel channel) {
    try {
      return TdAgentGrpc.newBlockingStub(channel)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .inspect(InspectRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
  }

  private static ManagedChannel channel(TlsIdentity client, PeerKeyTrustManager trust) {
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(trust);
    if (client != null) {
      tls.keyManager(client.keyManagers());
    }
    return NettyChannelBuilder.forTarget(launched.agentTarget(), tls.build()).build();
  }

  @Test
  void thePinnedChannelReachesTheAttestedAgent() {
    assertEquals(
        false,
        TestImages.await(td.agent().inspect(InspectRequest.getDefaultInstance())).getFinalized());
  }

  @Test
  void aChannelPinnedToAnotherKeyRefusesTheAgent() {
    TlsIdentity impostor = TlsIdentity.generate("impostor", Clock.systemUTC());
    ManagedChannel wrongPin =
        launcher
            .attestor()
            .channel(
                launched.agentTarget(),
                PeerKeyTrustManager.pinnedTo(impostor.publicKeyDer(), "the attested agent"));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> inspect(wrongPin));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
  }

  @Test
  void aClientWithoutTheHostCertificateGetsNothing() {
    StatusRuntimeException none =
        assertThrows(
            StatusRuntimeException.class,
            () -> inspect(channel(null, PeerKeyTrustManager.firstContact())));
    assertEquals(Status.Code.UNAVAILABLE, none.getStatus().getCode(), none.getStatus().toString());

    TlsIdentity stranger = TlsIdentity.generate("confaas-host", Clock.systemUTC());
    StatusRuntimeException other =
        assertThrows(
            StatusRuntimeException.class,
            () -> inspect(channel(stranger, PeerKeyTrustManager.firstContact())));
    assertEquals(
        Status.Code.UNAVAILABLE, other.getStatus().getCode(), other.getStatus().toString());

    StatusRuntimeException plaintext =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                inspect(
                    NettyChannelBuilder.forTarget(launched.agentTarget()).usePlaintext().build()));
    assertEquals(
        Status.Code.UNAVAILABLE, plaintext.getStatus().getCode(), plaintext.getStatus().toString());
  }

  @Test
  void aTdThatDoesNotMatchTheReferenceValuesIsRefusedNamingEveryCheck() throws Exception {
    // The Intel root does not sign simulated quotes, and this MRTD is not the agent's.
    QuoteTdAttestor strict =
        new QuoteTdAttestor(
            QuoteVerifier.intel(Clock.systemUTC()),
            launcher::collateral,
            ReferenceValues.builder().allowMrTd(new byte[48]).build(),
            launcher.hostIdentity(),
            Clock.systemUTC());
    try (LaunchedTd other = launcher.launch("td-mismatch")) {
      TdAttestationException e =
          assertThrows(TdAttestationException.class, () -> strict.attest(other));
      assertTrue(e.getMessage().contains("QUOTE_VERIFICATION"), e.getMessage());
      assertTrue(e.getMessage().contains("MRTD"), e.getMessage());
    }
  }

  @Test
  void closingATdStopsItsAgent() throws Exception {
    LaunchedTd other = launcher.launch("td-closed");
    assertTrue(other.isAlive());
    other.close();
    assertTrue(!other.isAlive(), "the agent process survived close()");
    assertTrue(
        Files.exists(tmp.resolve("pool/td-closed/agent.log")), "the TD's log should be kept");
    assertTrue(
        !Files.exists(tmp.resolve("pool/td-closed/state")), "the TD's state should be deleted");
  }
}
