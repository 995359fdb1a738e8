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
 * <p>Clients must authenticate (SASL/PLAIN, see {@link BrokerCredentials}): the platform as its
 * super user ({@link #platformClients()}), everyone else as the client user, whose settings {@link
 * #start} writes to {@code client.properties} (Java clients) and {@code librdkafka.conf} ({@code
 * kcat -F}) in the data directory. ACLs (StandardAuthorizer) let the client user read and write
 * any topic and join any group except the platform's own: topics {@code confaas.*} (async
 * invocations and results) and groups {@code confaas-*} (async worker, default trigger groups). It
 * cannot create topics; triggers create theirs.
 *
 * <p>Everything else in this package takes {@link KafkaClients}, not this object, so an external
 * cluster can stand in for it.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final int NODE_ID = 1;
  private static final String CONTROLLER_LISTENER = "CONTROLLER";

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Duration startupTime;
  private final Path dataDir;
  private final BrokerCredentials credentials;
  private volatile boolean closed;

  private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers, Duration startupTime,
      Path dataDir, BrokerCredentials credentials) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.startupTime = startupTime;
    this.dataDir = dataDir;
    this.credentials = credentials;
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
      BrokerCredentials credentials = BrokerCredentials.loadOrCreate(dataDir);
      Properties props = config(logDir, clientPort, controllerPort, credentials);
      KafkaConfig config = KafkaConfig.fromProps(props);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        format(logDir, clusterId);
      }
      KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
      String bootstrap = "127.0.0.1:" + clientPort;
      try {
        server.startup();
        KafkaClients platform = credentials.platformClients(bootstrap);
        awaitReady(platform);
        BrokerAcls.grantClient(platform, BrokerCredentials.CLIENT_USER);
        credentials.writeClientFiles(dataDir, bootstrap);
      } catch (RuntimeException | IOException e) {
        server.shutdown();
        server.awaitShutdown();
        throw e;
      }
      return new EmbeddedKafka(server, bootstrap, Duration.ofNanos(System.nanoTime() - started),
          dataDir, credentials);
    } catch (IOException e) {
      throw new UncheckedIOException("could not prepare Kafka data directory " + dataDir, e);
    }
  }

  /** {@code host:port} for Kafka clients' {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** How the platform's own clients connect: as its super user. */
  public KafkaClients platformClients() {
    return credentials.platformClients(bootstrapServers);
  }

  /** What {@code client.properties} holds: the client user, for trigger topics (and tests). */
  public KafkaClients clientClients() {
    return credentials.clientClients(bootstrapServers);
  }

  /** The client user's settings for Java clients, mode 0600. */
  public Path clientProperties() {
    return dataDir.resolve(BrokerCredentials.CLIENT_PROPERTIES);
  }

  /** The client user's settings for librdkafka clients ({@code kcat -F}), mode 0600. */
  public Path librdkafkaConf() {
    return dataDir.resolve(BrokerCredentials.LIBRDKAFKA_CONF);
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

  private static Properties config(Path logDir, int clientPort, int controllerPort,
      BrokerCredentials credentials) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
    p.put("listeners", "CLIENTS://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "CLIENTS://127.0.0.1:" + clientPort);
    p.put("controller.listener.names", CONTROLLER_LISTENER);
    // Both listeners authenticate: the controller's too, or anyone could send it admin requests.
    p.put("listener.security.protocol.map", "CLIENTS:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT");
    p.put("inter.broker.listener.name", "CLIENTS");
    p.put("sasl.enabled.mechanisms", "PLAIN");
    p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
    p.put("sasl.mechanism.controller.protocol", "PLAIN");
    p.put("listener.name.clients.plain.sasl.jaas.config", credentials.listenerJaas());
    p.put("listener.name.controller.plain.sasl.jaas.config", credentials.listenerJaas());
    p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    p.put("super.users", "User:" + BrokerCredentials.PLATFORM_USER);
    p.put("allow.everyone.if.no.acl.found", "false");
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
    // Every topic takes records of the documented sizes (KafkaLimits), the platform's and clients'.
    p.put("message.max.bytes", String.valueOf(KafkaLimits.MAX_MESSAGE_BYTES));
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

  private static void awaitReady(KafkaClients platform) {
    String bootstrap = platform.bootstrapServers();
    Map<String, Object> conf = platform.settings();
    conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
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
