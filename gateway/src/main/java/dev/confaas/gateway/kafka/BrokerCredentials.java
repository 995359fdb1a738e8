package dev.confaas.gateway.kafka;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;

/**
 * The embedded broker's two SASL/PLAIN users, generated at first start and kept in {@code
 * credentials} (mode 0600) in the broker's data directory: the platform's own user (a super user:
 * the gateway, triggers, async invocations, the broker's own controller channel) and the client
 * user the operator hands out (trigger topics only). Without them anyone who reaches the port could
 * run a function without its invoke token or read every async result.
 *
 * <p>PLAIN rather than SCRAM: the KRaft controller listener cannot use SCRAM (its credentials live
 * in the metadata the controller serves), and PLAIN needs no bootstrap records, so a data directory
 * formatted before credentials existed is secured by the next start too. The broker listens on
 * loopback only, where the password in the clear is visible only to root.
 */
final class BrokerCredentials {
  static final String FILE = "credentials";
  static final String CLIENT_PROPERTIES = "client.properties";
  static final String LIBRDKAFKA_CONF = "librdkafka.conf";
  static final String PLATFORM_USER = "confaas-platform";
  static final String CLIENT_USER = "confaas-client";
  private static final String PLAIN = "PLAIN";
  private static final String PROTOCOL = "SASL_PLAINTEXT";

  private final String platformPassword;
  private final String clientPassword;

  private BrokerCredentials(String platformPassword, String clientPassword) {
    this.platformPassword = platformPassword;
    this.clientPassword = clientPassword;
  }

  /** Reads {@code dir/credentials}, creating it (0600) with fresh passwords when missing. */
  static BrokerCredentials loadOrCreate(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    if (Files.exists(file)) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      }
      String platform = p.getProperty("platform.password", "");
      String client = p.getProperty("client.password", "");
      if (platform.isBlank() || client.isBlank()) {
        throw new IOException(file + " lacks platform.password or client.password; delete it and"
            + " restart to generate new Kafka credentials (clients must then use the new "
            + CLIENT_PROPERTIES + ")");
      }
      return new BrokerCredentials(platform, client);
    }
    BrokerCredentials c = new BrokerCredentials(randomPassword(), randomPassword());
    writePrivate(file, String.join("\n",
        "# The embedded Kafka broker's SASL/PLAIN users, generated at first start. Keep private.",
        "# The platform's user is a super user; hand out " + CLIENT_PROPERTIES + " or "
            + LIBRDKAFKA_CONF + " (the client user) instead.",
        "platform.username=" + PLATFORM_USER,
        "platform.password=" + c.platformPassword,
        "client.username=" + CLIENT_USER,
        "client.password=" + c.clientPassword,
        ""));
    return c;
  }

  /** The broker's JAAS line for a listener: who it is itself and which users it accepts. */
  String listenerJaas() {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
        + PLATFORM_USER + "\" password=\"" + platformPassword + "\" user_" + PLATFORM_USER + "=\""
        + platformPassword + "\" user_" + CLIENT_USER + "=\"" + clientPassword + "\";";
  }

  KafkaClients platformClients(String bootstrap) {
    return KafkaClients.of(bootstrap, javaClient(PLATFORM_USER, platformPassword));
  }

  KafkaClients clientClients(String bootstrap) {
    return KafkaClients.of(bootstrap, javaClient(CLIENT_USER, clientPassword));
  }

  /**
   * Writes the client user's settings for {@code bootstrap}, both mode 0600: {@value
   * #CLIENT_PROPERTIES} for Java clients ({@code --producer.config}, {@code --command-config}) and
   * {@value #LIBRDKAFKA_CONF} for librdkafka ones ({@code kcat -F}). Rewritten at every start, as
   * the port may change.
   */
  void writeClientFiles(Path dir, String bootstrap) throws IOException {
    StringWriter javaClientText = new StringWriter();
    Properties p = new Properties();
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    javaClient(CLIENT_USER, clientPassword).forEach((k, v) -> p.put(k, v));
    p.store(javaClientText, "ConFaaS embedded Kafka: the client user (trigger topics). Java clients:"
        + " kafka-console-producer --producer.config " + dir.resolve(CLIENT_PROPERTIES));
    writePrivate(dir.resolve(CLIENT_PROPERTIES), javaClientText.toString());
    writePrivate(dir.resolve(LIBRDKAFKA_CONF), String.join("\n",
        "# ConFaaS embedded Kafka: the client user (trigger topics). librdkafka clients:",
        "#   kcat -F " + dir.resolve(LIBRDKAFKA_CONF) + " -P -t TOPIC",
        "bootstrap.servers=" + bootstrap,
        "security.protocol=" + PROTOCOL.toLowerCase(java.util.Locale.ROOT),
        "sasl.mechanisms=" + PLAIN,
        "sasl.username=" + CLIENT_USER,
        "sasl.password=" + clientPassword,
        ""));
  }

  private static Map<String, String> javaClient(String user, String password) {
    return Map.of(
        CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, PROTOCOL,
        SaslConfigs.SASL_MECHANISM, PLAIN,
        SaslConfigs.SASL_JAAS_CONFIG,
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
            + "\" password=\"" + password + "\";");
  }

  private static String randomPassword() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Writes through a 0600 temp file and an atomic rename, so the secret is never world-readable. */
  private static void writePrivate(Path file, String text) throws IOException {
    Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
