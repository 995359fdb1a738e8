package dev.confaas.gateway.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * How the platform's own Kafka clients (producers, consumers, admin) reach the cluster: {@code
 * bootstrap.servers} plus whatever the cluster requires to be let in ({@code security.protocol},
 * {@code sasl.mechanism}, {@code sasl.jaas.config}, TLS stores, ...). Every client in this package
 * starts from {@link #settings()} and adds its own keys on top.
 *
 * <pre>{@code
 * KafkaClients platform = embeddedKafka.platformClients();          // SASL, the platform's user
 * KafkaClients external = KafkaClients.load("k1:9093", Path.of("client.properties"));
 * }</pre>
 */
public final class KafkaClients {
  private final Map<String, Object> settings;

  private KafkaClients(Map<String, Object> settings) {
    this.settings = Map.copyOf(settings);
  }

  /** A cluster that lets anyone in: only {@code bootstrap.servers}. */
  public static KafkaClients plaintext(String bootstrapServers) {
    return of(bootstrapServers, Map.of());
  }

  /** {@code bootstrap.servers} and the given client settings (which must not name other servers). */
  public static KafkaClients of(String bootstrapServers, Map<String, ?> clientSettings) {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Map<String, Object> m = new LinkedHashMap<>(clientSettings);
    m.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return new KafkaClients(m);
  }

  /**
   * {@code bootstrap.servers} and the settings of a Java client properties file (as {@code
   * kafka-console-producer --producer.config} reads it), e.g. the security settings of an external
   * cluster. A {@code bootstrap.servers} in the file is overridden by the one given.
   *
   * @throws IOException naming the file when it cannot be read
   */
  public static KafkaClients load(String bootstrapServers, Path propertiesFile)
      throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(propertiesFile, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw new IOException("cannot read the Kafka client settings " + propertiesFile + ": "
          + e.getMessage() + "; check kafka.clientProperties", e);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
    return of(bootstrapServers, m);
  }

  /** {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return (String) settings.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
  }

  /** The common settings, to start a client's configuration from (a copy). */
  public Map<String, Object> settings() {
    return new LinkedHashMap<>(settings);
  }

  /** The settings without secrets, for messages. */
  @Override
  public String toString() {
    Object protocol = settings.getOrDefault(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT");
    return bootstrapServers() + " (" + protocol + ")";
  }
}
