package dev.confaas.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The agent's most recent shareable output lines, shared by every log stream: a function appends
 * and never waits; each reader keeps its own cursor (the last sequence it sent) and reads on when
 * its transport is ready. When the buffer is full the oldest line goes, so a slow reader loses
 * lines, never the function its time; the reader learns how many from the gap in sequences.
 */
final class LogBuffer {
  /** Lines kept at most (agent.proto StreamLogs). */
  static final int MAX_LINES = 4096;
  /** Bytes of line text kept at most; lines are up to 16 KiB, so the line cap alone is not enough. */
  static final long MAX_BYTES = 4L * 1024 * 1024;

  /** Lines after a cursor and how many after it were lost before the first of them. */
  record Batch(List<LogLine> lines, long dropped) {}

  private final int maxLines;
  private final long maxBytes;
  private final ArrayDeque<LogLine> lines = new ArrayDeque<>();
  private final List<Runnable> readers = new CopyOnWriteArrayList<>();
  private long bytes;
  private long lastSequence;

  LogBuffer() {
    this(MAX_LINES, MAX_BYTES);
  }

  LogBuffer(int maxLines, long maxBytes) {
    if (maxLines < 1 || maxBytes < 1) {
      throw new IllegalArgumentException("a log buffer holds at least one line and one byte");
    }
    this.maxLines = maxLines;
    this.maxBytes = maxBytes;
  }

  /** Stores a line under the next sequence, evicting the oldest as needed, and wakes the readers. */
  LogLine append(
      String instanceId,
      String imageId,
      InstanceSettings settings,
      String requestId,
      int fd,
      byte[] text,
      long timeEpochMs) {
    LogLine line;
    synchronized (this) {
      line =
          new LogLine(
              instanceId,
              imageId,
              settings.name(),
              settings.version(),
              requestId,
              fd,
              text,
              timeEpochMs,
              ++lastSequence);
      lines.addLast(line);
      bytes += text.length;
      while (lines.size() > maxLines || (bytes > maxBytes && lines.size() > 1)) {
        bytes -= lines.removeFirst().line().length;
      }
    }
    for (Runnable r : readers) {
      r.run();
    }
    return line;
  }

  /**
   * Up to {@code max} lines with a sequence above {@code after}, oldest first, and how many lines
   * after {@code after} are no longer held (evicted before this reader got to them).
   */
  synchronized Batch readAfter(long after, int max) {
    if (lines.isEmpty() || lastSequence <= after) {
      return new Batch(List.of(), 0);
    }
    long first = lines.peekFirst().sequence();
    long dropped = Math.max(0, first - after - 1);
    List<LogLine> out = new ArrayList<>(Math.min(max, lines.size()));
    // Sequences in the buffer are contiguous, so the start is an offset from the oldest.
    long skip = Math.max(0, after + 1 - first);
    var it = lines.iterator();
    for (long i = 0; i < skip; i++) {
      it.next();
    }
    while (it.hasNext() && out.size() < max) {
      out.add(it.next());
    }
    return new Batch(out, dropped);
  }

  /** The sequence of the newest line appended; 0 before any. */
  synchronized long lastSequence() {
    return lastSequence;
  }

  /**
   * Calls {@code wake} after every append, on the appending thread: it must only note that there
   * is more to read (or read without blocking).
   *
   * @return closing it stops the calls
   */
  AutoCloseable onAppend(Runnable wake) {
    readers.add(wake);
    return () -> readers.remove(wake);
  }
}
