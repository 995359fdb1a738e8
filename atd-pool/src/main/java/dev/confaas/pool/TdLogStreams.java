package dev.confaas.pool;

import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.v1.LogLine;
import dev.confaas.agent.v1.StreamLogsRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the function output of every TD it is given (agent.proto StreamLogs), one stream per
 * TD, and hands each line to a {@link Sink}. A stream that ends while its TD lives is opened again
 * after a back-off (doubling from {@code minBackoff} to {@code maxBackoff}, back to the minimum
 * once lines flow), resuming after the last sequence seen, so a reconnect loses only what the
 * agent's own buffer no longer holds; lines it reports as dropped are counted.
 *
 * <pre>{@code
 * TdLogStreams logs = new TdLogStreams(sink, timer, clock, Duration.ofMillis(200), Duration.ofSeconds(10));
 * pool.onAttested(td -> logs.follow(td.id(), td.agent(), td::isAlive));
 * }</pre>
 */
public final class TdLogStreams implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TdLogStreams.class);

  /** Where lines go. Called on gRPC's executor, one line of a TD at a time; must not block. */
  @FunctionalInterface
  public interface Sink {
    void line(String tdId, LogLine line);
  }

  /** Where a TD's stream is. */
  public enum State {
    /** The call is open and nothing has arrived on it yet. */
    CONNECTING,
    /** Lines have arrived on the current call. */
    STREAMING,
    /** The call ended while the TD lives; it is opened again at {@code retryAt}. */
    BACKING_OFF
  }

  /**
   * One TD's stream as {@code GET /v1/tds} shows it.
   *
   * @param lines lines received over all its calls
   * @param dropped lines the agent reported lost because this host read too slowly
   * @param restarts calls opened after the first
   * @param lastError why the last call ended; empty if none has
   * @param retryAt when a {@link State#BACKING_OFF} stream reconnects; null otherwise
   */
  public record Status(
      String tdId, State state, long lines, long dropped, int restarts, String lastError, Instant retryAt) {}

  private final Sink sink;
  private final ScheduledExecutorService timer;
  private final Clock clock;
  private final Duration minBackoff;
  private final Duration maxBackoff;
  private final Map<String, Follower> followers = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public TdLogStreams(
      Sink sink, ScheduledExecutorService timer, Clock clock, Duration minBackoff, Duration maxBackoff) {
    if (minBackoff.isNegative() || minBackoff.isZero() || maxBackoff.compareTo(minBackoff) < 0) {
      throw new IllegalArgumentException(
          "log stream back-off must be positive with max >= min, was " + minBackoff + ".." + maxBackoff);
    }
    this.sink = sink;
    this.timer = timer;
    this.clock = clock;
    this.minBackoff = minBackoff;
    this.maxBackoff = maxBackoff;
  }

  /**
   * Starts following a TD's output until {@code alive} turns false (checked whenever the stream
   * ends) or this is closed. Following a TD already followed does nothing.
   */
  public void follow(String tdId, AgentClient agent, BooleanSupplier alive) {
    if (closed) {
      return;
    }
    Follower f = new Follower(tdId, agent, alive);
    if (followers.putIfAbsent(tdId, f) == null) {
      f.open();
    }
  }

  /** The streams of TDs still followed, by TD ID order. */
  public List<Status> status() {
    List<Status> out = new ArrayList<>();
    for (Follower f : followers.values()) {
      out.add(f.status());
    }
    out.sort(java.util.Comparator.comparing(Status::tdId));
    return out;
  }

  /** The stream of one TD, if it is followed. */
  public java.util.Optional<Status> status(String tdId) {
    Follower f = followers.get(tdId);
    return f == null ? java.util.Optional.empty() : java.util.Optional.of(f.status());
  }

  @Override
  public void close() {
    closed = true;
    for (Follower f : followers.values()) {
      f.stop();
    }
    followers.clear();
  }

  private final class Follower implements AgentClient.LogListener {
    private final String tdId;
    private final AgentClient agent;
    private final BooleanSupplier alive;
    // Guarded by this.
    private AgentClient.LogStream call;
    private State state = State.CONNECTING;
    private long lastSequence;
    private long lines;
    private long dropped;
    private int restarts;
    private int failuresInARow;
    private String lastError = "";
    private Instant retryAt;
    private boolean stopped;

    Follower(String tdId, AgentClient agent, BooleanSupplier alive) {
      this.tdId = tdId;
      this.agent = agent;
      this.alive = alive;
    }

    void open() {
      long after;
      synchronized (this) {
        if (stopped) {
          return;
        }
        state = State.CONNECTING;
        retryAt = null;
        after = lastSequence;
      }
      AgentClient.LogStream c =
          agent.streamLogs(StreamLogsRequest.newBuilder().setAfterSequence(after).build(), this);
      boolean cancel;
      synchronized (this) {
        cancel = stopped;
        call = c;
      }
      if (cancel) {
        c.close();
      }
    }

    @Override
    public void line(LogLine line) {
      synchronized (this) {
        state = State.STREAMING;
        failuresInARow = 0;
        lines++;
        dropped += line.getDropped();
        lastSequence = Math.max(lastSequence, line.getSequence());
      }
      try {
        sink.line(tdId, line);
      } catch (RuntimeException e) {
        log.warn("the log sink failed on a line of TD {}: {}", tdId, e.toString());
      }
    }

    @Override
    public void ended(AgentCallException failure) {
      String why = failure == null ? "the agent ended the stream" : failure.getMessage();
      boolean tdAlive = !closed && alive.getAsBoolean();
      Duration wait;
      synchronized (this) {
        lastError = why;
        if (stopped || !tdAlive) {
          stopped = true;
          followers.remove(tdId, this);
          return;
        }
        failuresInARow++;
        restarts++;
        long ms = minBackoff.toMillis() << Math.min(failuresInARow - 1, 20);
        wait = Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
        state = State.BACKING_OFF;
        retryAt = clock.instant().plus(wait);
      }
      log.info("log stream of TD {} ended ({}); reopening in {} ms", tdId, why, wait.toMillis());
      try {
        timer.schedule(this::open, wait.toMillis(), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
        stop();
      }
    }

    void stop() {
      AgentClient.LogStream c;
      synchronized (this) {
        stopped = true;
        c = call;
      }
      if (c != null) {
        c.close();
      }
    }

    synchronized Status status() {
      return new Status(tdId, state, lines, dropped, restarts, lastError, retryAt);
    }
  }
}
