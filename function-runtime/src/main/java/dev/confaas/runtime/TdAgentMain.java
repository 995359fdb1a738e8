package dev.confaas.runtime;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
 *     [--port-file FILE] [--prepared IMAGE_ID=DIR:ENTRYPOINT]...
 * </pre>
 *
 * <p>Once serving it prints {@code confaas-agent listening on HOST:PORT} and, with {@code
 * --port-file}, writes the port there (atomically), so a launcher can wait for either. SIGTERM stops
 * every instance and exits.
 */
public final class TdAgentMain {
  private static final Logger log = LoggerFactory.getLogger(TdAgentMain.class);
  private static final String USAGE =
      "usage: TdAgentMain --listen HOST:PORT --state-dir DIR [--port-file FILE]"
          + " [--prepared IMAGE_ID=DIR:ENTRYPOINT]...";

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
    List<String> prepared = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--listen" -> listen = value;
        case "--state-dir" -> stateDir = Path.of(value);
        case "--port-file" -> portFile = Path.of(value);
        case "--prepared" -> prepared.add(value);
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    if (listen == null || stateDir == null) {
      throw new IllegalArgumentException("--listen and --state-dir are required");
    }
    int colon = listen.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--listen " + listen + " must be HOST:PORT, e.g. 127.0.0.1:0");
    }
    InetSocketAddress address =
        new InetSocketAddress(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));

    PreparedFunctionCatalog catalog = new PreparedFunctionCatalog();
    for (String p : prepared) {
      catalog.add(parsePrepared(p));
    }
    InstanceSupervisor supervisor =
        InstanceSupervisor.start(InstanceSupervisor.Config.defaults(stateDir).withClock(Clock.systemUTC()));
    Server server =
        NettyServerBuilder.forAddress(address)
            .maxInboundMessageSize(TdAgentService.MAX_MESSAGE_BYTES)
            .addService(new TdAgentService(supervisor, catalog))
            .build()
            .start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdownNow();
                  supervisor.close();
                },
                "confaas-agent-shutdown"));
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

  /** {@code IMAGE_ID=DIR:ENTRYPOINT}, the entrypoint split on spaces. */
  static FunctionSpec parsePrepared(String value) {
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
        .build();
  }
}
