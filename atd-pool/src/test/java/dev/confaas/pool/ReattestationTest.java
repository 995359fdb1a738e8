package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.PeerKeyTrustManager;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import dev.confaas.runtime.AconImageLoader;
import dev.confaas.runtime.InstanceSupervisor;
import dev.confaas.runtime.QuoteReporter;
import dev.confaas.runtime.SealingKey;
import dev.confaas.runtime.TdAgentService;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Re-attestation of a TD whose RTMR3 no longer replays from its log: something was measured that
 * the agent does not account for. Here the agent runs in this JVM (the real TdAgentService, image
 * loader, quote reporter and simulated TDX module, over mutual TLS) so the test can extend RTMR3
 * behind the log's back, as compromised code in a TD could.
 */
class ReattestationTest {
  @TempDir Path tmp;

  /** The real agent stack, served in this JVM; the quotes chain to the launcher's PKI. */
  private static final class InProcessTd implements LaunchedTd {
    final SimulatedTdxModule tdx;
    final Server server;
    final InstanceSupervisor supervisor;

    InProcessTd(ProcessTdLauncher launcher, Path pkiDir, Path stateDir) throws Exception {
      // Measured like a process-backend agent over the launcher's class path, so MRTD matches.
      tdx =
          new SimulatedTdxModule(
              SimulatedPki.load(pkiDir),
              AgentArtifacts.digests(
                  AgentArtifacts.parseClassPath(System.getProperty("java.class.path"))));
      TlsIdentity identity = TlsIdentity.generate("confaas-td-agent", Clock.systemUTC());
      AconImageLoader loader = new AconImageLoader(stateDir, tdx);
      supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(stateDir));
      ServerCredentials tls =
          TlsServerCredentials.newBuilder()
              .keyManager(identity.keyManagers())
              .trustManager(
                  PeerKeyTrustManager.pinnedTo(
                      launcher.hostIdentity().publicKeyDer(), "the host under test"))
              .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
              .build();
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), tls)
              .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
              .addService(
                  new TdAgentService(
                      supervisor,
                      loader,
                      new QuoteReporter(tdx, identity, SealingKey.generate(), loader::rtmr3Log)))
              .build()
              .start();
    }

    @Override
    public String id() {
      return "td-in-process";
    }

    @Override
    public String backend() {
      return "in-process";
    }

    @Override
    public String agentTarget() {
      return "127.0.0.1:" + server.getPort();
    }

    @Override
    public boolean isAlive() {
      return !server.isShutdown();
    }

    @Override
    public void close() {
      server.shutdownNow();
      supervisor.close();
    }
  }

  @Test
  void aTdWhoseRtmr3NoLongerReplaysFromItsLogFailsReattestation() throws Exception {
    try (ProcessTdLauncher launcher =
        new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")))) {
      InProcessTd launched =
          new InProcessTd(launcher, tmp.resolve("pool/simulated-pki"), tmp.resolve("state"));
      try (AttestedTd td = launcher.attestor().attest(launched)) {
        assertEquals(List.of(), td.rtmr3Log(), "a fresh TD has loaded nothing");
        AttestedTd same = launcher.attestor().reattest(td);
        assertEquals(List.of(), same.rtmr3Log(), "nothing was loaded, nothing was logged");

        // Measured, but not logged.
        launched.tdx.extendRtmr(
            3,
            MessageDigest.getInstance("SHA-384")
                .digest("hidden code".getBytes(StandardCharsets.UTF_8)));
        TdAttestationException e =
            assertThrows(TdAttestationException.class, () -> launcher.attestor().reattest(same));
        assertTrue(e.getMessage().contains("RTMR3"), e.getMessage());
        assertTrue(e.getMessage().contains("re-attestation"), e.getMessage());
      }
    }
  }
}
