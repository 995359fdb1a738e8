package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent's shared log buffer: bounded by lines and bytes, readers see what they lost. */
class LogBufferTest {
  private static final InstanceSettings FN = new InstanceSettings("fn", "1", 128, Duration.ofSeconds(3));

  private static void append(LogBuffer b, String text) {
    b.append("i-1", "img", FN, "req-1", 1, text.getBytes(StandardCharsets.UTF_8), 0);
  }

  @Test
  void keepsTheNewestLinesAndCountsWhatAReaderMissed() {
    LogBuffer b = new LogBuffer(3, 1_000);
    for (int i = 1; i <= 5; i++) {
      append(b, "line " + i);
    }
    LogBuffer.Batch all = b.readAfter(0, 10);
    assertEquals(List.of(3L, 4L, 5L), all.lines().stream().map(LogLine::sequence).toList());
    assertEquals(2, all.dropped(), "lines 1 and 2 are gone");
    LogBuffer.Batch rest = b.readAfter(3, 10);
    assertEquals(List.of(4L, 5L), rest.lines().stream().map(LogLine::sequence).toList());
    assertEquals(0, rest.dropped());
    assertEquals(0, b.readAfter(5, 10).lines().size());
    assertEquals(1, b.readAfter(3, 1).lines().size(), "at most max lines per read");
  }

  @Test
  void aByteCapEvictsLongLinesButKeepsTheNewest() {
    LogBuffer b = new LogBuffer(100, 10);
    append(b, "12345");
    append(b, "67890");
    append(b, "this line alone is over the cap");
    LogBuffer.Batch all = b.readAfter(0, 10);
    assertEquals(1, all.lines().size());
    assertEquals(3, all.lines().get(0).sequence());
    assertEquals(2, all.dropped());
  }
}
