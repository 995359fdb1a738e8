package dev.confaas.gateway.kafka;

import static dev.confaas.gateway.kafka.KafkaTestSupport.text;
import static dev.confaas.gateway.kafka.KafkaTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.gateway.AsyncInvocations.State;
import dev.confaas.gateway.AsyncInvocations.Status;
import dev.confaas.scheduler.InvocationRequest;
import java.time.Instant;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** The async queue's record formats: what is written is read back whole, bytes unencoded. */
class AsyncRecordsTest {
  static final Instant ACCEPTED = Instant.parse("2026-11-22T08:00:00Z");

  /** What a consumer would see for a produced record at {@code offset}. */
  static ConsumerRecord<byte[], byte[]> consumed(ProducerRecord<byte[], byte[]> p, long offset) {
    return new ConsumerRecord<>(p.topic(), 0, offset, 0L, TimestampType.CREATE_TIME, -1, -1, p.key(), p.value(),
        p.headers(), Optional.empty());
  }

  @Test
  void anInvocationCarriesTheWholeRequestAndItsEventUnencoded() {
    byte[] event = {0, (byte) 0xff, 'h', 'i'};
    AsyncRecords.Invocation inv = new AsyncRecords.Invocation("id-1", "resize", "3", event, 5_000, "trace-9",
        "{\"client\":{\"app\":\"x\"}}", "", ACCEPTED, false, null);
    ProducerRecord<byte[], byte[]> p = AsyncRecords.invocation("confaas.async-invocations", inv);
    assertArrayEquals(event, p.value(), "the event is the record's value, not base64");
    assertEquals("id-1", text(p.key()));
    InvocationRequest r = AsyncRecords.readInvocation(consumed(p, 7)).request(ACCEPTED.plusSeconds(60));
    assertEquals("resize", r.function());
    assertEquals("3", r.version());
    assertArrayEquals(event, r.payload());
    assertEquals("id-1", r.requestId(), "the function sees the invocation ID as its request ID");
    assertEquals("trace-9", r.traceId());
    assertEquals("{\"client\":{\"app\":\"x\"}}", r.clientContext());
    assertEquals(ACCEPTED.plusSeconds(65), r.deadline(), "the deadline counts from when it runs");
    assertTrue(!r.isSealed());
  }

  @Test
  void aSealedInvocationKeepsItsTargetTdSoSealedAsyncNeedsNoNewFormat() {
    byte[] sealed = utf8("ohttp-encapsulated-request");
    AsyncRecords.Invocation inv = new AsyncRecords.Invocation("id-2", "vault", null, sealed, 5_000, "", "", "",
        ACCEPTED, true, "td-42");
    InvocationRequest r = AsyncRecords.readInvocation(consumed(AsyncRecords.invocation("t", inv), 0))
        .request(ACCEPTED);
    assertTrue(r.isSealed());
    assertEquals("td-42", r.targetTd());
    assertArrayEquals(sealed, r.sealedRequest());
    assertEquals(0, r.payload().length);
  }

  @Test
  void aRecordInNoKnownFormatIsUnreadableWithItsPosition() {
    ProducerRecord<byte[], byte[]> garbage = new ProducerRecord<>("confaas.async-invocations", utf8("x"),
        utf8("{not json"));
    RecordRoute.Unreadable e = assertThrows(RecordRoute.Unreadable.class,
        () -> AsyncRecords.readInvocation(consumed(garbage, 12)));
    assertTrue(e.getMessage().contains("confaas.async-invocations/0/12"), e.getMessage());
  }

  @Test
  void aStatusKeepsItsResultAsTheValueAndIsNeverATombstone() throws Exception {
    byte[] result = new byte[900_000];
    Status done = new Status("id-3", "print", State.SUCCEEDED, ACCEPTED, ACCEPTED.plusSeconds(2), result, null,
        "td-1", "sha384/img", "jws.receipt.sig");
    ProducerRecord<byte[], byte[]> p = AsyncRecords.status("confaas.async-results", done);
    assertEquals(900_000, p.value().length, "the result is the value as it is");
    Status back = AsyncRecords.readStatus(consumed(p, 3));
    assertArrayEquals(result, back.result());
    assertEquals("jws.receipt.sig", back.receipt());
    assertEquals(State.SUCCEEDED, back.state());

    Status queued = new Status("id-4", "print", State.QUEUED, ACCEPTED, null, null, null, null, null);
    ProducerRecord<byte[], byte[]> q = AsyncRecords.status("confaas.async-results", queued);
    assertEquals(0, q.value().length, "an empty value, never null (compaction would delete a null)");
    assertNull(AsyncRecords.readStatus(consumed(q, 4)).result());
  }

  @Test
  void aSealedStatusKeepsItsFlagAndTheSealedResponseOfAFunctionError() throws Exception {
    byte[] sealed = {9, 8, 7, 6};
    Status failed = new Status("id-5", "print", State.FAILED, ACCEPTED, ACCEPTED.plusSeconds(1), sealed,
        "{\"kind\":\"HANDLED\"}", "td-1", "sha384/img", "jws.receipt.sig", true);
    Status back = AsyncRecords.readStatus(consumed(AsyncRecords.status("confaas.async-results", failed), 5));
    assertTrue(back.sealed(), "the sealed flag survives the record");
    assertArrayEquals(sealed, back.result(), "a sealed function error keeps its sealed response");
    assertEquals(State.FAILED, back.state());

    Status plain = new Status("id-6", "print", State.SUCCEEDED, ACCEPTED, ACCEPTED, sealed, null, null, null);
    assertFalse(AsyncRecords.readStatus(consumed(AsyncRecords.status("confaas.async-results", plain), 6)).sealed());
  }
}
