package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.FAST;
import static dev.confaas.gateway.kafka.KafkaTestSupport.await;
import static dev.confaas.gateway.kafka.KafkaTestSupport.committed;
import static dev.confaas.gateway.kafka.KafkaTestSupport.createTopic;
import static dev.confaas.gateway.kafka.KafkaTestSupport.function;
import static dev.confaas.gateway.kafka.KafkaTestSupport.json;
import static dev.confaas.gateway.kafka.KafkaTestSupport.ok;
import static dev.confaas.gateway.kafka.KafkaTestSupport.produce;
import static dev.confaas.gateway.kafka.KafkaTestSupport.record;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.confaas.scheduler.FunctionInvoker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping triggers and the broker mid-stream, then starting both again from their data, loses nothing. */
class RestartTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir Path brokerDir;
  @TempDir Path dataDir;

  @Test
  void aStoppedTriggerAndBrokerResumeWhereTheyLeftOff() throws Exception {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger invocations = new AtomicInteger();
    FunctionInvoker fn =
        function(r -> {
          JsonNode e = json(r.payload());
          seen.add(e.get("partition").asInt() + "/" + e.get("offset").asLong());
          invocations.incrementAndGet();
          return ok(r, utf8("ok"));
        });
    String group;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(brokerDir, 0)) {
      KafkaClients bootstrap = kafka.platformClients();
      createTopic(bootstrap, "events", 3);
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        records.add(record("events", i % 3, "k" + i, "e" + i));
      }
      produce(bootstrap, records);
      TriggerManager first =
          new TriggerManager(new TriggerStore(dataDir), bootstrap, fn, new SimpleMeterRegistry(), Clock.systemUTC(), 3, FAST);
      group = first.add(new TriggerSpec(null, "sink", "events", null, null, null, 3, 1, null, 1, 0, TriggerSpec.Event.ENVELOPE)).group();
      await("some records are processed", () -> invocations.get() >= 50);
      first.close(); // mid-stream
      Map<Integer, Long> before;
      try (var admin = KafkaTestSupport.admin(bootstrap)) {
        before = committed(admin, group);
      }
      long committedBefore = before.values().stream().mapToLong(Long::longValue).sum();
      assertTrue(committedBefore < 600, "the trigger should have stopped mid-stream, committed " + before);
    }
    try (EmbeddedKafka kafka = EmbeddedKafka.start(brokerDir, 0)) {
      KafkaClients bootstrap = kafka.platformClients();
      TriggerManager second =
          new TriggerManager(new TriggerStore(dataDir), bootstrap, fn, new SimpleMeterRegistry(), Clock.systemUTC(), 3, FAST);
      assertEquals(1, second.list().size(), "the trigger was stored and survives the restart");
      second.start();

      try (second; var admin = KafkaTestSupport.admin(bootstrap)) {
        String g = group;
        await("all 600 committed after the restart", () -> KafkaTestSupport.committedSum(admin, g) == 600);
      }
    }
    for (int i = 0; i < 600; i++) {
      String id = (i % 3) + "/" + (i / 3);
      assertTrue(seen.contains(id), "record " + id + " was never delivered");
    }
  }
}
