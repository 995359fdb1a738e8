package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.FAST;
import static dev.confaas.gateway.kafka.KafkaTestSupport.await;
import static dev.confaas.gateway.kafka.KafkaTestSupport.createTopic;
import static dev.confaas.gateway.kafka.KafkaTestSupport.function;
import static dev.confaas.gateway.kafka.KafkaTestSupport.json;
import static dev.confaas.gateway.kafka.KafkaTestSupport.ok;
import static dev.confaas.gateway.kafka.KafkaTestSupport.produce;
import static dev.confaas.gateway.kafka.KafkaTestSupport.record;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.scheduler.FunctionInvoker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, defect 5: a trigger's consumer must not die silently; it is supervised. */
class TriggerSupervisionTest {
  static {
    KafkaTestSupport.quietLogs();
  }

  @TempDir Path brokerDir;
  @TempDir Path dataDir;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }

  @Test
  void aTriggerRecoversWhenItsBrokerStopsAndComesBack() throws Exception {
    int port = freePort();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    FunctionInvoker fn = function(r -> {
      seen.add(json(r.payload()).get("value").asText());
      return ok(r, utf8("ok"));
    });
    EmbeddedKafka kafka = EmbeddedKafka.start(brokerDir, port);
    TriggerManager m = null;
    try {
      createTopic(kafka.platformClients(), "events", 1);
      m = new TriggerManager(new TriggerStore(dataDir), kafka.platformClients(), fn,
          new SimpleMeterRegistry(), Clock.systemUTC(), 1, FAST);
      TriggerManager manager = m;
      String id = m.add(new TriggerSpec(null, "sink", "events", null, null, null, 3, 1, null, 1, 0,
          TriggerSpec.Event.ENVELOPE)).id();
      produce(kafka.platformClients(), List.of(record("events", 0, "k", "before")));
      await("the record before the outage is processed", () -> seen.contains("before"));
      assertEquals("RUNNING", m.status(id).orElseThrow().state());

      kafka.close();
      await("the trigger reports the outage", () -> manager.status(id).orElseThrow().lastError() != null,
          () -> manager.status(id).toString());
      TriggerManager.Status during = m.status(id).orElseThrow();
      assertTrue(during.lastError().contains("TimeoutException") || during.lastError().contains("Timeout"),
          "lastError says what failed: " + during);
      kafka = EmbeddedKafka.start(brokerDir, port);

      produce(kafka.platformClients(), List.of(record("events", 0, "k", "after")));
      await("a record produced after the broker came back is processed", () -> seen.contains("after"));
      await("the trigger runs again", () -> manager.status(id).orElseThrow().running(),
          () -> manager.status(id).toString());
    } finally {
      if (m != null) {
        m.close();
      }
      kafka.close();
    }
  }

  /**
   * The failure seen under load ("TimeoutException: Failed to get offsets by times"), injected where
   * the consumer polls: the runner restarts it with back-off, says so (state, lastError, restarts,
   * in the API and in metrics), and records produced afterwards are consumed.
   */
  @Test
  void aConsumerThatFailsIsRestartedAndSaysSo() throws Exception {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    FunctionInvoker fn = function(r -> {
      seen.add(json(r.payload()).get("value").asText());
      return ok(r, utf8("ok"));
    });
    java.util.concurrent.atomic.AtomicInteger failuresLeft = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.CountDownLatch failing = new java.util.concurrent.CountDownLatch(1);
    TriggerRunner.Options options = FAST.withBeforePoll(() -> {
      if (failuresLeft.get() > 0) {
        failing.countDown();
        if (failuresLeft.decrementAndGet() >= 0) {
          throw new org.apache.kafka.common.errors.TimeoutException("Failed to get offsets by times in 2439ms");
        }
      }
    });
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(brokerDir, 0)) {
      createTopic(kafka.platformClients(), "orders", 2);
      try (TriggerManager m = new TriggerManager(new TriggerStore(dataDir), kafka.platformClients(), fn, metrics,
          Clock.systemUTC(), 1, options)) {
        String id = m.add(new TriggerSpec(null, "sink", "orders", null, null, null, 3, 1, null, 1, 0,
            TriggerSpec.Event.ENVELOPE)).id();
        produce(kafka.platformClients(), List.of(record("orders", 0, "k", "first")));
        await("the first record is processed", () -> seen.contains("first"));
        assertEquals(0, m.status(id).orElseThrow().restarts());
        assertEquals(1.0, metrics.find("confaas.trigger.up").tag("trigger", id).gauge().value());

        failuresLeft.set(3);
        failing.await();
        await("the failed consumer has been restarted three times",
            () -> m.status(id).orElseThrow().restarts() == 3, () -> m.status(id).toString());
        TriggerManager.Status after = m.status(id).orElseThrow();
        assertTrue(after.lastError().contains("Failed to get offsets by times"), after.toString());
        assertEquals(3.0, metrics.find("confaas.trigger.restarts").tag("trigger", id).counter().count());

        produce(kafka.platformClients(), List.of(record("orders", 1, "k", "second")));
        await("a record produced after the failures is processed", () -> seen.contains("second"));
        await("the trigger reports RUNNING again", () -> m.status(id).orElseThrow().running(),
            () -> m.status(id).toString());
        assertEquals(1.0, metrics.find("confaas.trigger.up").tag("trigger", id).gauge().value());
      }
    }
  }
}
