package dev.confaas.runtime;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.PeerKeyTrustManager;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import dev.confaas.attestation.TdxGuest;
import dev.confaas.attestation.TdxGuests;
import dev.confaas.image.ImageLimits;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the agent as a process: the TD's init in a VM, or one OS process per TD on the {@code
 * process} backend.
 *
 * <pre>
 * java -cp ... dev.confaas.runtime.TdAgentMain --listen 127.0.0.1:0 --state-dir DIR \
 *     [--tdx-simulated PKI_DIR | --tdx-guest] [--host-cert FILE] [--td-id ID] [--exit-with-stdin] \
 *     [--port-file FILE] [--init-timeout-ms MS] [--prepared IMAGE_ID=DIR:ENTRYPOINT]...
 * </pre>
 *
 * <p>With {@code --tdx-simulated} the agent is a full TD agent: a {@link SimulatedTdxModule} under
 * the dev PKI in PKI_DIR, MRTD measured over the agent's own class path ({@link AgentArtifacts}),
 * images loaded and measured by an {@link AconImageLoader}, Report answered by a {@link
 * QuoteReporter}, a receipt signed for every invocation ({@link ReceiptSigner}, naming the TD as
 * {@code --td-id}), and the gRPC API served only over mutual TLS: the agent presents a self-signed
 * certificate for its fresh identity key (the key its quotes bind, next to its fresh HPKE sealing
 * key) and accepts only a client whose key is the one in {@code --host-cert}. Without it the agent
 * serves plaintext and runs only {@code --prepared} functions (tests, development). {@code
 * --tdx-guest} is the same with the TD's real TDX module instead of the simulator, through the
 * Linux guest interfaces ({@link TdxGuests#open}: configfs-tsm quotes): a guest on a TDX host,
 * where MRTD and RTMR0..2 are the hardware's.
 *
 * <p>Once serving it prints {@code confaas-agent listening on HOST:PORT} and, with {@code
 * --port-file}, writes the port there (atomically), so a launcher can wait for either. SIGTERM stops
 * every instance and exits; so does the end of stdin with {@code --exit-with-stdin}, which is how
 * an agent whose launcher died (and with it the pipe) does not outlive it.
 *
 * <p>{@code --init-timeout-ms} is how long a new function instance has to call {@code
 * invocation/next} for the first time (default 10000, Lambda's init limit): the launcher sets it
 * from its backend's pace, as a function in a TCG-emulated guest starts many times slower.
 */
public final class TdAgentMain {
  private static final Logger log = LoggerFactory.getLogger(TdAgentMain.class);
  private static final String USAGE =
      "usage: TdAgentMain --listen HOST:PORT --state-dir DIR [--tdx-simulated PKI_DIR | --tdx-guest]"
          + " [--host-cert FILE] [--td-id ID]"
          + " [--exit-with-stdin] [--port-file FILE] [--init-timeout-ms MS]"
          + " [--prepared IMAGE_ID=DIR:ENTRYPOINT]...";
  /** Lambda's init limit, the default of {@code --init-timeout-ms}. */
  static final Duration DEFAULT_INIT_TIMEOUT = FunctionSpec.DEFAULT_INIT_TIMEOUT;

  private TdAgentMain() {}

  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } catch (IllegalArgumentException e) {
      System.err.println("confaas-agent: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
    }
  }

  private static void run(String[] args) throws IOException, InterruptedException {
    String listen = null;
    Path stateDir = null;
    Path portFile = null;
    Path pkiDir = null;
    Path hostCert = null;
    String tdId = null;
    Duration initTimeout = DEFAULT_INIT_TIMEOUT;
    boolean exitWithStdin = false;
    boolean tdxGuest = false;
    List<String> prepared = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--exit-with-stdin")) {
        exitWithStdin = true;
        continue;
      }
      if (flag.equals("--tdx-guest")) {
        tdxGuest = true;
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--listen" -> listen = value;
        case "--state-dir" -> stateDir = Path.of(value);
        case "--port-file" -> portFile = Path.of(value);
        case "--prepared" -> prepared.add(value);
        case "--tdx-simulated" -> pkiDir = Path.of(value);
        case "--host-cert" -> hostCert = Path.of(value);
        case "--td-id" -> tdId = value;
        case "--init-timeout-ms" -> initTimeout = initTimeout(value);
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    if (listen == null || stateDir == null) {
      throw new IllegalArgumentException("--listen and --state-dir are required");
    }
    if (tdxGuest && pkiDir != null) {
      throw new IllegalArgumentException(
          "--tdx-guest and --tdx-simulated exclude each other: a TD has one TDX module");
    }
    boolean td = tdxGuest || pkiDir != null;
    if (td != (hostCert != null)) {
      throw new IllegalArgumentException(
          "--tdx-simulated or --tdx-guest and --host-cert go together: a TD agent serves only the"
              + " host it was launched for, over mutual TLS");
    }
    if (tdId != null && !td) {
      throw new IllegalArgumentException(
          "--td-id names the TD in receipts; it needs --tdx-simulated or --tdx-guest");
    }
    if (tdId != null && !tdId.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw new IllegalArgumentException(
          "--td-id " + tdId + " must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    if (td && !prepared.isEmpty()) {
      throw new IllegalArgumentException(
          "--prepared functions are unmeasured; they cannot be combined with --tdx-simulated");
    }
    int colon = listen.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--listen " + listen + " must be HOST:PORT, e.g. 127.0.0.1:0");
    }
    InetSocketAddress address =
        new InetSocketAddress(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));

    InstanceSupervisor supervisor =
        InstanceSupervisor.start(InstanceSupervisor.Config.defaults(stateDir).withClock(Clock.systemUTC()));
    Server server;
    if (td) {
      if (!Files.isRegularFile(hostCert)) {
        throw new IllegalArgumentException("--host-cert " + hostCert + " does not exist");
      }
      TdxGuest tdx;
      if (tdxGuest) {
        tdx = TdxGuests.open(Path.of("/"));
        log.info("TDX module: this TD's, through {}", TdxGuests.detect(Path.of("/")));
      } else {
        tdx =
            new SimulatedTdxModule(
                SimulatedPki.load(pkiDir),
                AgentArtifacts.digests(
                    AgentArtifacts.parseClassPath(System.getProperty("java.class.path"))));
        log.info("TDX module: SIMULATED (dev PKI in {}); its quotes prove nothing about hardware", pkiDir);
      }
      TlsIdentity identity = TlsIdentity.generate("confaas-td-agent", Clock.systemUTC());
      SealingKey sealing = SealingKey.generate();
      AconImageLoader loader =
          new AconImageLoader(stateDir, tdx, ImageLimits.defaults(), initTimeout);
      QuoteReporter reporter = new QuoteReporter(tdx, identity, sealing, loader::rtmr3Log);
      String id =
          tdId != null
              ? tdId
              : "td-" + dev.confaas.agent.Receipt.thumbprint(identity.publicKey()).substring(0, 12);
      ReceiptSigner receipts = new ReceiptSigner(identity, id, loader::rtmr3Log, Clock.systemUTC());
      server =
          startTls(
              address,
              new TdAgentService(supervisor, loader, reporter, receipts, sealing),
              identity,
              TlsIdentity.readCertificate(hostCert).getPublicKey().getEncoded());
      log.info(
          "identity key SHA-256 {}; only the host key SHA-256 {} may connect",
          PeerKeyTrustManager.fingerprint(identity.publicKeyDer()),
          PeerKeyTrustManager.fingerprint(TlsIdentity.readCertificate(hostCert).getPublicKey().getEncoded()));
    } else {
      PreparedFunctions catalog = new PreparedFunctions();
      for (String p : prepared) {
        catalog.add(parsePrepared(p, initTimeout));
      }
      server =
          NettyServerBuilder.forAddress(address)
              .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
              .addService(new TdAgentService(supervisor, catalog))
              .build()
              .start();
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdownNow();
                  supervisor.close();
                },
                "confaas-agent-shutdown"));
    if (exitWithStdin) {
      Thread watch =
          new Thread(
              () -> {
                try {
                  while (System.in.read() >= 0) {
                    // The launcher never writes; anything sent is ignored.
                  }
                } catch (IOException ignored) {
                  // A broken pipe is an end too.
                }
                log.info("stdin closed: the launcher is gone, stopping");
                System.exit(0);
              },
              "confaas-agent-stdin-watch");
      watch.setDaemon(true);
      watch.start();
    }
    int port = server.getPort();
    if (portFile != null) {
      Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
      Files.writeString(tmp, Integer.toString(port));
      Files.move(tmp, portFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    System.out.println("confaas-agent listening on " + address.getHostString() + ":" + port);
    System.out.flush();
    log.info("agent serving TdAgent on {}:{}", address.getHostString(), port);
    server.awaitTermination();
  }

  /**
   * Serves {@code service} over mutual TLS: the server presents {@code identity}, and a client is
   * accepted only if its certificate carries {@code hostKeyDer} (anything else fails the handshake,
   * before any RPC is read).
   */
  static Server startTls(
      InetSocketAddress address, TdAgentService service, TlsIdentity identity, byte[] hostKeyDer)
      throws IOException {
    ServerCredentials tls =
        TlsServerCredentials.newBuilder()
            .keyManager(identity.keyManagers())
            .trustManager(PeerKeyTrustManager.pinnedTo(hostKeyDer, "the host this TD was launched for"))
            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
            .build();
    return NettyServerBuilder.forAddress(address, tls)
        .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
        .addService(service)
        .build()
        .start();
  }

  /** {@code --init-timeout-ms}: 1 ms to 15 minutes (Lambda's longest function timeout). */
  static Duration initTimeout(String value) {
    long ms;
    try {
      ms = Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      ms = -1;
    }
    if (ms < 1 || ms > 900_000) {
      throw new IllegalArgumentException(
          "--init-timeout-ms " + value + " must be a whole number of milliseconds, 1 to 900000");
    }
    return Duration.ofMillis(ms);
  }

  /** {@code IMAGE_ID=DIR:ENTRYPOINT}, the entrypoint split on spaces. */
  static FunctionSpec parsePrepared(String value) {
    return parsePrepared(value, DEFAULT_INIT_TIMEOUT);
  }

  static FunctionSpec parsePrepared(String value, Duration initTimeout) {
    int eq = value.indexOf('=');
    int colon = value.indexOf(':', eq + 1);
    if (eq <= 0 || colon < 0) {
      throw new IllegalArgumentException(
          "--prepared " + value + " must be IMAGE_ID=DIR:ENTRYPOINT, e.g. upper=/srv/upper:/var/task/bootstrap");
    }
    Path dir = Path.of(value.substring(eq + 1, colon));
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("--prepared directory " + dir + " does not exist");
    }
    List<String> entrypoint = Arrays.asList(value.substring(colon + 1).trim().split("\\s+"));
    return FunctionSpec.builder(value.substring(0, eq), dir, entrypoint)
        .name(value.substring(0, eq))
        .initTimeout(initTimeout)
        .build();
  }
}
