package dev.confaas.gateway.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir Path dir;

  @Test
  void topicsSurviveARestartFromTheSameDataDirectory() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0)) {
      System.out.println("embedded Kafka first start (format + start): " + kafka.startupTime().toMillis() + " ms");
      try (Admin admin = admin(kafka)) {
        admin.createTopics(List.of(new NewTopic("orders", 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
      }
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0)) {
      System.out.println("embedded Kafka restart: " + kafka.startupTime().toMillis() + " ms");
      try (Admin admin = admin(kafka)) {
        Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        assertTrue(names.contains("orders"), "topic created before the restart is gone: " + names);
        assertEquals(
            2,
            admin.describeTopics(List.of("orders")).allTopicNames().get(30, TimeUnit.SECONDS)
                .get("orders").partitions().size());
      }
    }
  }

  private static Admin admin(EmbeddedKafka kafka) {
    return Admin.create(kafka.platformClients().settings());
  }
}
