package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bounded per-function queues, deadlines and round-robin service. */
class FairQueuesTest {
  private static final Instant T0 = Instant.parse("2026-11-22T08:00:00Z");

  record Call(String name, Instant deadline) implements FairQueues.Deadlined {}

  @Test
  void aFullQueueRefusesAndOthersStillAccept() {
    FairQueues<String, Call> q = new FairQueues<>(2);
    assertTrue(q.offer("busy", new Call("1", T0.plusSeconds(9))));
    assertTrue(q.offer("busy", new Call("2", T0.plusSeconds(9))));
    assertFalse(q.offer("busy", new Call("3", T0.plusSeconds(9))), "capacity 2 reached");
    assertTrue(q.offer("quiet", new Call("q", T0.plusSeconds(9))), "capacity is per function");
    assertEquals(2, q.depth("busy"));
  }

  @Test
  void oneBusyFunctionCannotStarveAnother() {
    FairQueues<String, Call> q = new FairQueues<>(1000);
    for (int i = 0; i < 100; i++) {
      q.offer("busy", new Call("b" + i, T0.plusSeconds(60)));
    }
    q.offer("quiet", new Call("q0", T0.plusSeconds(60)));
    List<String> served = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      served.add(q.poll(k -> true).name());
    }
    assertEquals(List.of("b0", "q0", "b1", "b2"), served, "quiet must be served in the first round");
  }

  @Test
  void aFunctionThatMayNotRunIsSkippedWithoutLosingItsTurnOrder() {
    FairQueues<String, Call> q = new FairQueues<>(10);
    q.offer("a", new Call("a0", T0.plusSeconds(60)));
    q.offer("b", new Call("b0", T0.plusSeconds(60)));
    assertEquals("b0", q.poll(k -> k.equals("b")).name(), "a is at its concurrency limit");
    assertNull(q.poll(k -> k.equals("b")), "b's queue is empty");
    assertEquals("a0", q.poll(k -> true).name());
  }

  @Test
  void entriesWhoseDeadlinePassedAreExpiredInOrder() {
    FairQueues<String, Call> q = new FairQueues<>(10);
    q.offer("f", new Call("soon", T0.plusSeconds(1)));
    q.offer("f", new Call("later", T0.plusSeconds(5)));
    q.offer("g", new Call("now", T0));
    assertEquals(List.of("now"), q.expire(T0).stream().map(Call::name).toList());
    assertEquals(List.of("soon"), q.expire(T0.plusSeconds(1)).stream().map(Call::name).toList());
    assertEquals(1, q.depth("f"));
    assertEquals(List.of("f"), q.keysInTurn());
  }

  @Test
  void scarceColdStartsAreSharedOnePerFunctionPerRound() {
    // "busy" wants 10 new instances, "a" and "b" one each; only 4 starts may be in flight.
    List<String> grants =
        FairQueues.shareRoundRobin(
            List.of("busy", "a", "b"), k -> k.equals("busy") ? 10 : 1, 4);
    assertEquals(List.of("busy", "a", "b", "busy"), grants);
    assertEquals(List.of(), FairQueues.shareRoundRobin(List.of("a"), k -> 0, 4), "nothing wanted");
    assertEquals(List.of("a", "a"), FairQueues.shareRoundRobin(List.of("a"), k -> 2, 4));
  }

  @Test
  void aForgottenKeyLeavesTheRotationAndTheOthersKeepTheirTurns() {
    FairQueues<String, Call> q = new FairQueues<>(4);
    for (String k : List.of("a", "b", "c")) {
      q.offer(k, new Call(k, T0.plusSeconds(9)));
    }
    assertEquals("a", q.poll(k -> true).name());
    assertFalse(q.forget("b"), "b still has a queued call");
    assertEquals("b", q.poll(k -> true).name());
    assertTrue(q.forget("a"));
    assertTrue(q.forget("b"));
    assertEquals(1, q.keys(), "only c is left");
    assertEquals("c", q.poll(k -> true).name(), "c's turn survives the removals");
    assertTrue(q.forget("never-seen"));
  }
}
