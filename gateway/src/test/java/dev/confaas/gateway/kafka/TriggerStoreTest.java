package dev.confaas.gateway.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TriggerStoreTest {
  @TempDir Path dir;

  @Test
  void triggersSurviveReopeningTheStore() throws Exception {
    TriggerStore store = new TriggerStore(dir);
    TriggerSpec a =
        new TriggerSpec("t1", "resize", "images", null, "images.out", "images.dlq", 5, 10,
            TriggerSpec.Ordering.KEY, 4, 2048, TriggerSpec.Event.ENVELOPE);
    store.put(a);
    store.put(TriggerSpec.of("audit", "logins").withId("t2"));
    assertFalse(Files.exists(dir.resolve(TriggerStore.FILE + ".tmp")), "the temporary file is renamed away");

    TriggerStore reopened = new TriggerStore(dir);
    assertEquals(2, reopened.all().size());
    assertEquals(a, reopened.get("t1").orElseThrow());
    TriggerSpec b = reopened.get("t2").orElseThrow();
    assertEquals("confaas-audit-logins", b.group());
    assertEquals(TriggerSpec.Ordering.PARTITION, b.ordering());
    assertEquals(3, b.maxRetries());
    assertEquals(TriggerSpec.DEFAULT_MAX_RECORD_BYTES, b.maxRecordBytes());

    assertTrue(reopened.remove("t1"));
    assertFalse(reopened.remove("t1"));
    assertEquals(1, new TriggerStore(dir).all().size());
  }

  @Test
  void aCorruptFileIsReportedWithItsPathAndTheBadEntry() throws Exception {
    Files.writeString(dir.resolve(TriggerStore.FILE), "[{\"id\":\"x\",\"function\":\"f\",\"topic\":\"bad topic\"}]");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> new TriggerStore(dir));
    assertTrue(e.getMessage().contains("trigger [0]") && e.getMessage().contains("topic must be a Kafka topic name"),
        e.getMessage());
  }

  @Test
  void invalidSpecsNameTheField() {
    assertThrows(IllegalArgumentException.class, () -> TriggerSpec.of("f", ".."), "'..' is not a topic");
    IllegalArgumentException loop =
        assertThrows(IllegalArgumentException.class,
            () -> new TriggerSpec(null, "f", "t", null, "t", null, 3, 1, null, 1, 0, TriggerSpec.Event.ENVELOPE));
    assertTrue(loop.getMessage().contains("would loop"), loop.getMessage());
    IllegalArgumentException ordering =
        assertThrows(IllegalArgumentException.class, () -> TriggerSpec.Ordering.parse("fifo"));
    assertTrue(ordering.getMessage().contains("partition, key, none"), ordering.getMessage());
    IllegalArgumentException batch =
        assertThrows(IllegalArgumentException.class,
            () -> new TriggerSpec(null, "f", "t", null, null, null, 3, 501, null, 1, 0, TriggerSpec.Event.ENVELOPE));
    assertTrue(batch.getMessage().startsWith("batchSize"), batch.getMessage());
    IllegalArgumentException wrongType =
        assertThrows(IllegalArgumentException.class,
            () -> TriggerJson.spec(TriggerJson.MAPPER.createObjectNode().put("function", "f").put("topic", "t").put("concurrency", "many"),
                TriggerSpec.Event.VALUE));
    assertTrue(wrongType.getMessage().contains("concurrency must be an integer"), wrongType.getMessage());
  }

  @Test
  void newTriggersGetTheValueAsEventWhileStoredOnesWithoutAFormatKeepTheEnvelope() throws Exception {
    // A triggers.json written before triggers chose their event format.
    Files.writeString(dir.resolve(TriggerStore.FILE),
        "[{\"id\":\"old\",\"function\":\"rev\",\"topic\":\"rev-in\",\"maxRetries\":3}]");
    TriggerStore store = new TriggerStore(dir);
    assertEquals(TriggerSpec.Event.ENVELOPE, store.get("old").orElseThrow().event(),
        "an existing trigger keeps the envelope its function was written for");
    TriggerSpec fresh = TriggerJson.spec(TriggerJson.MAPPER.createObjectNode().put("function", "rev")
        .put("topic", "rev-2"), TriggerSpec.Event.VALUE);
    assertEquals(TriggerSpec.Event.VALUE, fresh.event());
    store.put(fresh.withId("new"));
    assertTrue(Files.readString(dir.resolve(TriggerStore.FILE)).contains("\"event\" : \"value\""),
        "the file says which format each trigger has");
    TriggerStore reopened = new TriggerStore(dir);
    assertEquals(TriggerSpec.Event.VALUE, reopened.get("new").orElseThrow().event());
    assertEquals(TriggerSpec.Event.ENVELOPE, reopened.get("old").orElseThrow().event());

    IllegalArgumentException batchOfValues = assertThrows(IllegalArgumentException.class,
        () -> new TriggerSpec(null, "f", "t", null, null, null, 3, 10, null, 1, 0, TriggerSpec.Event.VALUE));
    assertTrue(batchOfValues.getMessage().contains("needs event 'envelope'"), batchOfValues.getMessage());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> TriggerSpec.Event.parse("json"));
    assertTrue(unknown.getMessage().contains("value, envelope"), unknown.getMessage());
  }
}
