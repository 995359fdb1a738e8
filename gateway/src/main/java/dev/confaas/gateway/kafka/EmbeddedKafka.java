package dev.confaas.gateway.kafka;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Features;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real Apache Kafka broker running inside this JVM: one KRaft node that is both broker and
 * controller, for deployments without an external cluster and for tests.
 *
 * <p>All data lives under the given directory. The first start formats the storage (as {@code
 * kafka-storage.sh format} would) with a fresh cluster ID written to {@code cluster.id}; later
 * starts reuse it, so topics and committed consumer offsets survive a restart. Topics are never
 * auto-created: triggers and the async queue create theirs explicitly.
 *
 * <p>Everything else in this package takes bootstrap servers, not this object, so an external
 * cluster can stand in for it.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final int NODE_ID = 1;
  private static final String CONTROLLER_LISTENER = "CONTROLLER";

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Duration startupTime;
  private volatile boolean closed;

  private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers, Duration startupTime) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.startupTime = startupTime;
  }

  /**
   * Starts a broker keeping its data under {@code dataDir}, listening for clients on {@code port}
   * on the loopback interface ({@code 0} picks a free port). Returns once the broker answers
   * clients.
   */
  public static EmbeddedKafka start(Path dataDir, int port) {
    long started = System.nanoTime();
    try {
      Files.createDirectories(dataDir);
      Path logDir = dataDir.resolve("log");
      String clusterId = clusterId(dataDir);
      int clientPort = port == 0 ? freePort() : port;
      int controllerPort = freePort();
      Properties props = config(logDir, clientPort, controllerPort);
      KafkaConfig config = KafkaConfig.fromProps(props);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        format(logDir, clusterId);
      }
      KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
      String bootstrap = "127.0.0.1:" + clientPort;
      try {
        server.startup();
        awaitReady(bootstrap);
      } catch (RuntimeException e) {
        server.shutdown();
        server.awaitShutdown();
        throw e;
      }
      return new EmbeddedKafka(server, bootstrap, Duration.ofNanos(System.nanoTime() - started));
    } catch (IOException e) {
      throw new UncheckedIOException("could not prepare Kafka data directory " + dataDir, e);
    }
  }

  /** {@code host:port} for Kafka clients' {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** How long {@link #start} took, from call to a broker answering clients. */
  public Duration startupTime() {
    return startupTime;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.shutdown();
    server.awaitShutdown();
  }

  private static Properties config(Path logDir, int clientPort, int controllerPort) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + clientPort);
    p.put("controller.listener.names", CONTROLLER_LISTENER);
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    p.put("metadata.log.dir", logDir.toString());
    // Topics exist only when a trigger or the async queue creates them.
    p.put("auto.create.topics.enable", "false");
    // One node: every internal topic has one replica.
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "5");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "1");
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    // A consumer group on one machine need not wait for more members before its first assignment.
    p.put("group.initial.rebalance.delay.ms", "0");
    // Small: this runs inside the gateway's JVM.
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "2");
    p.put("num.recovery.threads.per.data.dir", "1");
    p.put("background.threads", "2");
    p.put("log.cleaner.threads", "1");
    p.put("log.cleaner.dedupe.buffer.size", String.valueOf(4 * 1024 * 1024));
    p.put("log.cleaner.io.buffer.size", String.valueOf(256 * 1024));
    p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
    p.put("socket.request.max.bytes", String.valueOf(16 * 1024 * 1024));
    p.put("message.max.bytes", String.valueOf(8 * 1024 * 1024));
    p.put("controlled.shutdown.enable", "true");
    p.put("server.max.startup.time.ms", "60000");
    return p;
  }

  private static String clusterId(Path dataDir) throws IOException {
    Path file = dataDir.resolve("cluster.id");
    if (Files.exists(file)) {
      return Files.readString(file, StandardCharsets.UTF_8).trim();
    }
    String id = Uuid.randomUuid().toString();
    Path tmp = dataDir.resolve("cluster.id.tmp");
    Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return id;
  }

  private static void format(Path logDir, String clusterId) {
    try {
      new Formatter()
          .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
          .setSupportedFeatures(Features.PRODUCTION_FEATURES)
          .setNodeId(NODE_ID)
          .setClusterId(clusterId)
          .setDirectories(List.of(logDir.toString()))
          .setMetadataLogDirectory(logDir.toString())
          .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
          .setControllerListenerName(CONTROLLER_LISTENER)
          .run();
    } catch (Exception e) {
      throw new IllegalStateException("could not format Kafka storage in " + logDir + ": " + e.getMessage(), e);
    }
  }

  private static void awaitReady(String bootstrap) {
    Map<String, Object> conf =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
    try (Admin admin = Admin.create(conf)) {
      admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("embedded Kafka broker at " + bootstrap + " did not become ready", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for embedded Kafka", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }
}
