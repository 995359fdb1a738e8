package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded broker's port stays the same across restarts of one data directory, and a start
 * whose remembered port another program holds says so and takes another. Real sockets.
 */
class KafkaPortTest {
  @TempDir Path data;

  @Test
  void theFirstStartPicksAFreePortAndLaterStartsReuseIt() throws IOException {
    KafkaPort first = KafkaPort.choose(data, 0);
    assertTrue(first.port() > 0 && first.warning().isEmpty(), first.toString());
    KafkaPort.remember(data, first.port());
    assertEquals(Optional.of(first.port()), KafkaPort.remembered(data));
    assertEquals(new KafkaPort(first.port(), Optional.empty()), KafkaPort.choose(data, 0),
        "a restart must listen where clients were told to connect");
  }

  @Test
  void aRememberedPortThatIsTakenIsReplacedWithAWarningNamingBoth() throws IOException {
    try (ServerSocket other = new ServerSocket()) {
      other.bind(new InetSocketAddress("127.0.0.1", 0));
      KafkaPort.remember(data, other.getLocalPort());
      KafkaPort chosen = KafkaPort.choose(data, 0);
      assertNotEquals(other.getLocalPort(), chosen.port());
      String w = chosen.warning().orElseThrow(() -> new AssertionError("no warning: " + chosen));
      assertTrue(w.contains(other.getLocalPort() + ", is taken")
          && w.contains("listens on " + chosen.port()) && w.contains("--kafka-port"), w);
    }
  }

  @Test
  void aConfiguredPortWinsAndADamagedNoteCountsAsNone() throws IOException {
    KafkaPort.remember(data, 41_000);
    assertEquals(new KafkaPort(9092, Optional.empty()), KafkaPort.choose(data, 9092));
    Files.writeString(data.resolve(KafkaPort.FILE), "not a port\n");
    assertEquals(Optional.empty(), KafkaPort.remembered(data));
    assertTrue(KafkaPort.choose(data, 0).port() > 0);
  }
}
