package dev.confaas.gateway;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The recent output lines of each deployed function (what {@code GET /v1/functions/NAME/logs}
 * serves): per function a ring of at most {@code maxLines} lines and {@code maxChars} characters, the
 * oldest going first. Lines of a function that is not deployed are not kept, and a function's lines
 * go when it is deleted, so memory is bounded by what is deployed. Appends never block: followers
 * are told on the appending thread and must only queue.
 */
public final class FunctionLogs {
  /** Lines kept per function unless told otherwise. */
  public static final int DEFAULT_MAX_LINES = 1000;
  /** Characters kept per function unless told otherwise (lines are at most 16 KiB each). */
  public static final long DEFAULT_MAX_CHARS = 1024 * 1024;

  /**
   * One line as the author sees it.
   *
   * @param sequence increasing per function, in the order lines arrived at the host
   * @param time when the host received it (host clock, so {@code ?since} means what it says)
   * @param function the deployment's name
   * @param version its version
   * @param requestId the request the instance was last handed; empty for its init output
   * @param instanceId the instance that wrote it
   * @param tdId the TD it ran in
   * @param fd 1 (stdout) or 2 (stderr)
   * @param text the line, without its newline, decoded as UTF-8
   */
  public record Line(
      long sequence,
      Instant time,
      String function,
      String version,
      String requestId,
      String instanceId,
      String tdId,
      int fd,
      String text) {

    /** {@code stdout}, {@code stderr} or {@code fdN}. */
    public String stream() {
      return fd == 1 ? "stdout" : fd == 2 ? "stderr" : "fd" + fd;
    }

    public JsonObject toJson() {
      return new JsonObject()
          .put("time", time.toString())
          .put("function", function)
          .put("version", version)
          .put("requestId", requestId)
          .put("instance", instanceId)
          .put("td", tdId)
          .put("stream", stream())
          .put("line", text);
    }

    /** {@code TIME NAME:VERSION REQUEST|init INSTANCE@TD STREAM: TEXT}, one line. */
    public String toText() {
      return time + " " + function + ":" + version + " "
          + (requestId.isEmpty() ? "init" : requestId) + " " + instanceId + "@" + tdId + " "
          + stream() + ": " + text;
    }
  }

  /** Which lines a reader wants: since a time (inclusive) and of one request, either optional. */
  public record Filter(Instant since, String requestId) {
    public static final Filter ALL = new Filter(null, null);

    boolean test(Line l) {
      return (since == null || !l.time().isBefore(since))
          && (requestId == null || requestId.equals(l.requestId()));
    }
  }

  /** Someone following a function's new lines. Called on the appending thread; must only queue. */
  public interface Follower {
    void line(Line line);

    /** No more lines will come: the function was deleted. */
    void ended(String why);
  }

  /** What {@link #follow} returns: the lines already held, then new ones go to the follower. */
  public record Followed(List<Line> backlog, AutoCloseable subscription) {}

  private final Clock clock;
  private final Predicate<String> deployed;
  private final int maxLines;
  private final long maxChars;
  private final Map<String, Ring> rings = new ConcurrentHashMap<>();

  /** @param deployed whether a function of that name is deployed now (lines of others are dropped) */
  public FunctionLogs(Clock clock, Predicate<String> deployed, int maxLines, long maxChars) {
    if (maxLines < 1 || maxChars < 1) {
      throw new IllegalArgumentException("keep at least one line and one character per function");
    }
    this.clock = clock;
    this.deployed = deployed;
    this.maxLines = maxLines;
    this.maxChars = maxChars;
  }

  /**
   * Keeps a line of a deployed function (one that is not deployed is ignored) and passes it to the
   * function's followers.
   *
   * @return whether it was kept
   */
  public boolean append(
      String function, String version, String requestId, String instanceId, String tdId, int fd, byte[] text) {
    int end = text.length;
    if (end > 0 && text[end - 1] == '\r') {
      end--; // CRLF output is one line too
    }
    String decoded = new String(text, 0, end, StandardCharsets.UTF_8);
    // The check sits inside compute so that a delete (which removes the ring after the registry
    // forgot the function) cannot be undone by a line arriving at the same time.
    Ring ring = rings.computeIfAbsent(function, f -> deployed.test(f) ? new Ring() : null);
    if (ring == null) {
      return false;
    }
    ring.add(clock.instant(), function, version, requestId, instanceId, tdId, fd, decoded);
    return true;
  }

  /** The lines held for a function that pass {@code filter}, oldest first. */
  public List<Line> recent(String function, Filter filter) {
    Ring ring = rings.get(function);
    return ring == null ? List.of() : ring.snapshot(filter);
  }

  /**
   * The lines held for a function that pass {@code filter}, and from then on every new one that
   * does goes to {@code follower}, with nothing lost or repeated between the two.
   */
  public Followed follow(String function, Filter filter, Follower follower) {
    Ring ring = rings.computeIfAbsent(function, f -> deployed.test(f) ? new Ring() : null);
    if (ring == null) {
      follower.ended("function \"" + function + "\" is not deployed");
      return new Followed(List.of(), () -> {});
    }
    return ring.follow(filter, follower);
  }

  /** Forgets a function's lines and ends its followers (the function was deleted). */
  public void remove(String function) {
    Ring ring = rings.remove(function);
    if (ring != null) {
      ring.end("function \"" + function + "\" was deleted");
    }
  }

  /** Number of functions with lines held. */
  public int functions() {
    return rings.size();
  }

  private final class Ring {
    private final ArrayDeque<Line> lines = new ArrayDeque<>();
    private final List<Subscriber> followers = new CopyOnWriteArrayList<>();
    private long bytes;
    private long sequence;

    private record Subscriber(Filter filter, Follower follower) {}

    synchronized void add(
        Instant time, String function, String version, String requestId, String instanceId,
        String tdId, int fd, String text) {
      Line l = new Line(++sequence, time, function, version, requestId, instanceId, tdId, fd, text);
      lines.addLast(l);
      bytes += text.length();
      while (lines.size() > maxLines || (bytes > maxChars && lines.size() > 1)) {
        bytes -= lines.removeFirst().text().length();
      }
      // Under the ring's lock so followers see a function's lines in order; they only queue.
      for (Subscriber s : followers) {
        if (s.filter().test(l)) {
          s.follower().line(l);
        }
      }
    }

    synchronized List<Line> snapshot(Filter filter) {
      List<Line> out = new ArrayList<>();
      for (Line l : lines) {
        if (filter.test(l)) {
          out.add(l);
        }
      }
      return out;
    }

    synchronized Followed follow(Filter filter, Follower follower) {
      Subscriber s = new Subscriber(filter, follower);
      followers.add(s);
      return new Followed(snapshot(filter), () -> followers.remove(s));
    }

    void end(String why) {
      for (Subscriber s : followers) {
        s.follower().ended(why);
      }
      followers.clear();
    }
  }
}
