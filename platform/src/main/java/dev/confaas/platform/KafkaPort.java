package dev.confaas.platform;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The embedded broker's client port, kept across restarts of one data directory, so that what a
 * user pointed at it ({@code kcat -b}, {@code kafka-console-producer.sh --bootstrap-server}, an
 * application's {@code bootstrap.servers}) still works after a restart.
 *
 * <p>{@code kafka.port} 0 (the default) means: the port the broker used last time on this data
 * directory ({@value #FILE}), else a free one the operating system picks. When the remembered port
 * is taken by then (another program got it), the broker takes a free one and the start says so in
 * a warning; refusing to start would leave the user with no platform for the sake of a port that
 * the client settings files ({@code client.properties}, {@code librdkafka.conf}, rewritten at every
 * start) follow anyway. A non-zero {@code kafka.port} is used as given.
 *
 * @param port the port the broker is to listen on
 * @param warning why it is not the remembered one, when it is not
 */
record KafkaPort(int port, Optional<String> warning) {

  /** In the data directory: the port the embedded broker listened on last, as decimal text. */
  static final String FILE = "kafka.port";

  /** The port to start the broker on, for {@code kafka.port} = {@code configured}. */
  static KafkaPort choose(Path dataDir, int configured) throws IOException {
    if (configured != 0) {
      return new KafkaPort(configured, Optional.empty());
    }
    Optional<Integer> last = remembered(dataDir);
    if (last.isEmpty()) {
      return new KafkaPort(freePort(), Optional.empty());
    }
    if (isFree(last.get())) {
      return new KafkaPort(last.get(), Optional.empty());
    }
    int other = freePort();
    return new KafkaPort(other, Optional.of("the embedded Kafka broker's port of the last start, "
        + last.get() + ", is taken (another program listens there); it listens on " + other
        + " now. Clients given 127.0.0.1:" + last.get() + " need the new address (the client"
        + " settings files have it); set kafka.port (--kafka-port) to fix a port yourself"));
  }

  /** Notes {@code port} as the one to reuse at the next start on {@code dataDir}. */
  static void remember(Path dataDir, int port) throws IOException {
    Path tmp = Files.createTempFile(dataDir, ".kafka-port-", ".tmp");
    try {
      Files.writeString(tmp, port + "\n", StandardCharsets.US_ASCII);
      Files.move(tmp, dataDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** The port of the last start; empty when there was none or the file is not a port. */
  static Optional<Integer> remembered(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      int port = Integer.parseInt(Files.readString(file, StandardCharsets.US_ASCII).strip());
      return port > 0 && port <= 65535 ? Optional.of(port) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty(); // a damaged note: pick afresh, as on a first start
    }
  }

  /** Whether a listener can bind {@code port} on loopback, as the broker will (address reuse on). */
  private static boolean isFree(int port) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException e) {
      return false;
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
