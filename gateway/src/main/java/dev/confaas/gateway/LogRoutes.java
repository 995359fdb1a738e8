package dev.confaas.gateway;

import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code GET /v1/functions/NAME/logs}: a function's recent output from {@link FunctionLogs}, as
 * text lines ({@code text/plain}) or one JSON object per line ({@code application/x-ndjson}, with
 * {@code ?format=json} or that {@code Accept}). {@code ?since=} an RFC 3339 time or a duration back
 * from now ({@code 30s}, {@code 10m}, {@code 2h}, {@code 1d}); {@code ?requestId=} one request's
 * lines; {@code ?follow=true} keeps the response open and streams new lines as they arrive.
 *
 * <p>A follower never holds up the function or the event loop: new lines queue per follower (at
 * most {@link #FOLLOWER_QUEUE}, the oldest dropped and counted in a note line), are written on the
 * follower's event loop while its connection takes them, and an empty line is written when nothing
 * else was for a while so idle timeouts and proxies keep the response open. At most {@link
 * #MAX_FOLLOWERS} responses follow at once; more get 429.
 */
final class LogRoutes {
  static final int MAX_FOLLOWERS = 64;
  static final int FOLLOWER_QUEUE = 1000;
  static final String NDJSON = "application/x-ndjson";
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

  private final FunctionLogs logs;
  private final FunctionRegistry registry;
  private final Clock clock;
  private final Duration heartbeat;
  private final AtomicInteger followers = new AtomicInteger();

  LogRoutes(FunctionLogs logs, FunctionRegistry registry, Clock clock, Duration heartbeat) {
    this.logs = logs;
    this.registry = registry;
    this.clock = clock;
    this.heartbeat = heartbeat;
  }

  void logs(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (registry.get(name).isEmpty()) {
      Problem.of(Problem.Reason.NOT_FOUND, "no function named \"" + name + "\"; list them with"
          + " GET /v1/functions").send(ctx);
      return;
    }
    FunctionLogs.Filter filter;
    boolean follow;
    boolean json;
    try {
      filter = new FunctionLogs.Filter(since(ctx.request().getParam("since")), requestId(ctx));
      follow = flag(ctx.request().getParam("follow"), "follow");
      json = json(ctx);
    } catch (IllegalArgumentException e) {
      Problem.of(Problem.Reason.BAD_REQUEST, e.getMessage()).send(ctx);
      return;
    }
    HttpServerResponse response = ctx.response()
        .putHeader("Content-Type", json ? NDJSON : "text/plain; charset=utf-8")
        .putHeader("Cache-Control", "no-store");
    if (!follow) {
      StringBuilder out = new StringBuilder();
      for (FunctionLogs.Line l : logs.recent(name, filter)) {
        out.append(format(l, json)).append('\n');
      }
      response.end(out.toString());
      return;
    }
    if (followers.incrementAndGet() > MAX_FOLLOWERS) {
      followers.decrementAndGet();
      Problem.of(Problem.Reason.OVERLOADED, MAX_FOLLOWERS + " log followers are connected, the"
          + " most this gateway serves; retry later or read without follow=true")
          .retryAfter(Duration.ofSeconds(5)).send(ctx);
      return;
    }
    new Follow(ctx.vertx().getOrCreateContext(), response, json).start(name, filter, ctx);
  }

  private static String format(FunctionLogs.Line l, boolean json) {
    return json ? l.toJson().encode() : l.toText();
  }

  private Instant since(String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    Matcher m = DURATION.matcher(value.strip());
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      Duration back = switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
      return clock.instant().minus(back);
    }
    try {
      return OffsetDateTime.parse(value.strip()).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("since=\"" + value + "\" is neither an RFC 3339 time"
          + " (2024-05-01T12:00:00Z) nor a duration back from now (30s, 10m, 2h, 1d)");
    }
  }

  private static String requestId(RoutingContext ctx) {
    String id = ctx.request().getParam("requestId");
    if (id == null || id.isEmpty()) {
      return null;
    }
    if (id.length() > 64 || !id.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || c == '-'))) {
      throw new IllegalArgumentException("requestId=\"" + id + "\" is not a request ID: up to 64"
          + " ASCII letters, digits and '-' (the X-Confaas-Request-Id an invocation answered with)");
    }
    return id;
  }

  private static boolean flag(String value, String name) {
    if (value == null) {
      return false;
    }
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "", "true", "1" -> true;
      case "false", "0" -> false;
      default -> throw new IllegalArgumentException(name + "=\"" + value + "\" must be true or false");
    };
  }

  private static boolean json(RoutingContext ctx) {
    String format = ctx.request().getParam("format");
    if (format != null) {
      return switch (format.toLowerCase(Locale.ROOT)) {
        case "json", "ndjson" -> true;
        case "text" -> false;
        default -> throw new IllegalArgumentException(
            "format=\"" + format + "\" must be text or json");
      };
    }
    String accept = ctx.request().getHeader("Accept");
    return accept != null && accept.contains(NDJSON);
  }

  /** One following response: a bounded queue filled by appenders, drained on its event loop. */
  private final class Follow implements FunctionLogs.Follower {
    private final Context context;
    private final HttpServerResponse response;
    private final boolean json;
    // Guarded by this; filled on appending threads, drained on the event loop.
    private final ArrayDeque<FunctionLogs.Line> queue = new ArrayDeque<>();
    private long dropped;
    private boolean scheduled;
    private String endedWhy;
    // Event loop only.
    private boolean done;
    private boolean wroteSinceBeat;
    private long beatTimer = -1;
    private AutoCloseable subscription = () -> {};

    Follow(Context context, HttpServerResponse response, boolean json) {
      this.context = context;
      this.response = response;
      this.json = json;
    }

    void start(String name, FunctionLogs.Filter filter, RoutingContext ctx) {
      response.setChunked(true);
      response.closeHandler(v -> finish());
      response.exceptionHandler(e -> finish());
      response.drainHandler(v -> flush());
      FunctionLogs.Followed f = logs.follow(name, filter, this);
      subscription = f.subscription();
      List<FunctionLogs.Line> backlog = f.backlog();
      StringBuilder out = new StringBuilder();
      for (FunctionLogs.Line l : backlog) {
        out.append(format(l, json)).append('\n');
      }
      // Headers go now even without lines, so a client knows it is following.
      response.write(out.toString());
      long every = Math.max(1, heartbeat.toMillis());
      beatTimer = ctx.vertx().setPeriodic(every, id -> beat());
    }

    @Override
    public void line(FunctionLogs.Line line) {
      synchronized (this) {
        if (queue.size() >= FOLLOWER_QUEUE) {
          queue.pollFirst();
          dropped++;
        }
        queue.addLast(line);
        if (scheduled) {
          return;
        }
        scheduled = true;
      }
      context.runOnContext(v -> flush());
    }

    @Override
    public void ended(String why) {
      synchronized (this) {
        endedWhy = why;
        if (scheduled) {
          return;
        }
        scheduled = true;
      }
      context.runOnContext(v -> flush());
    }

    private void flush() {
      if (done) {
        return;
      }
      StringBuilder out = new StringBuilder();
      String ended;
      synchronized (this) {
        scheduled = false;
        if (dropped > 0) {
          out.append(note(dropped + " line(s) dropped: this reader was slower than the function"))
              .append('\n');
          dropped = 0;
        }
        // Stop taking lines while the connection is behind; its drain handler calls back.
        int budget = response.writeQueueFull() ? 0 : 256;
        while (budget-- > 0 && !queue.isEmpty()) {
          out.append(format(queue.pollFirst(), json)).append('\n');
        }
        ended = queue.isEmpty() ? endedWhy : null;
        if (!queue.isEmpty() && !response.writeQueueFull()) {
          scheduled = true;
          context.runOnContext(v -> flush());
        }
      }
      if (out.length() > 0) {
        response.write(out.toString());
        wroteSinceBeat = true;
      }
      if (ended != null) {
        response.end(note(ended) + "\n");
        finish();
      }
    }

    private String note(String text) {
      return json ? new io.vertx.core.json.JsonObject().put("note", text).encode() : "# " + text;
    }

    private void beat() {
      if (done) {
        return;
      }
      if (!wroteSinceBeat) {
        response.write("\n");
      }
      wroteSinceBeat = false;
    }

    private void finish() {
      if (done) {
        return;
      }
      done = true;
      followers.decrementAndGet();
      if (beatTimer >= 0) {
        context.owner().cancelTimer(beatTimer);
      }
      try {
        subscription.close();
      } catch (Exception ignored) {
        // removing a follower cannot fail
      }
    }
  }
}
