package dev.confaas.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Admits HTTP connections within {@link ConnectionLimits}: a connection over the server's or its
 * client address's share is closed as soon as it is accepted, before a byte of it is parsed; one
 * that has not delivered its first request's headers within the header timeout is closed then.
 * Refusals are counted ({@code confaas.gateway.connections.refused}, by {@code reason}) and logged
 * at most once a minute, so an attacker cannot fill the log either.
 *
 * <p>Runs on the event loops; the counts are shared between them. The per-client map holds only
 * addresses with an open connection, so it is bounded by {@code maxConnections}.
 */
final class ConnectionGate implements Handler<HttpConnection> {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ConnectionGate.class);
  private static final Duration LOG_EVERY = Duration.ofMinutes(1);

  private final ConnectionLimits limits;
  private final Vertx vertx;
  private final Clock clock;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<String, Integer> perClient = new ConcurrentHashMap<>();
  /** Connections still waiting for their first request, with the timer that will close them. */
  private final Map<HttpConnection, Long> awaitingHeaders = new ConcurrentHashMap<>();
  private final Counter refusedServer;
  private final Counter refusedClient;
  private final Counter headerTimeouts;
  private final AtomicLong refusedSinceLog = new AtomicLong();
  private final AtomicReference<Instant> lastLog = new AtomicReference<>(Instant.MIN);

  ConnectionGate(ConnectionLimits limits, Vertx vertx, Clock clock, MeterRegistry meters) {
    this.limits = limits;
    this.vertx = vertx;
    this.clock = clock;
    Gauge.builder("confaas.gateway.connections", open, AtomicInteger::get)
        .description("HTTP connections open")
        .register(meters);
    refusedServer = refusedCounter(meters, "maxConnections");
    refusedClient = refusedCounter(meters, "maxConnectionsPerClient");
    headerTimeouts = refusedCounter(meters, "requestHeaderTimeout");
  }

  private static Counter refusedCounter(MeterRegistry meters, String reason) {
    return Counter.builder("confaas.gateway.connections.refused")
        .description("HTTP connections closed by the gateway's connection limits")
        .tag("reason", reason)
        .register(meters);
  }

  /** Connections open now. */
  int open() {
    return open.get();
  }

  @Override
  public void handle(HttpConnection conn) {
    String client = clientOf(conn);
    if (open.incrementAndGet() > limits.maxConnections()) {
      open.decrementAndGet();
      refuse(conn, refusedServer, client, "gateway.maxConnections", limits.maxConnections());
      return;
    }
    if (perClient.merge(client, 1, Integer::sum) > limits.maxConnectionsPerClient()) {
      release(client);
      refuse(conn, refusedClient, client, "gateway.maxConnectionsPerClient",
          limits.maxConnectionsPerClient());
      return;
    }
    // Registered before the timer so a connection that is already gone releases its share.
    conn.closeHandler(v -> {
      Long timer = awaitingHeaders.remove(conn);
      if (timer != null) {
        vertx.cancelTimer(timer);
      }
      release(client);
    });
    // Connection-level failures (a reset, a malformed request line) are the client's business.
    conn.exceptionHandler(t -> log.debug("connection from {}: {}", client, t.toString()));
    long timer = vertx.setTimer(Math.max(1, limits.requestHeaderTimeout().toMillis()), id -> {
      if (awaitingHeaders.remove(conn) != null) {
        headerTimeouts.increment();
        log.debug("closing a connection from {}: no request headers within {}", client,
            limits.requestHeaderTimeout());
        conn.close();
      }
    });
    awaitingHeaders.put(conn, timer);
  }

  /**
   * Called with every request once its headers are read: the connection has shown it is a client,
   * so from now on the idle timeout, not the header timeout, governs it.
   */
  void requestArrived(HttpServerRequest req) {
    HttpConnection conn = req.connection();
    Long timer = conn == null ? null : awaitingHeaders.remove(conn);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }

  private void release(String client) {
    open.decrementAndGet();
    perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
  }

  private void refuse(HttpConnection conn, Counter counter, String client, String setting,
      int limit) {
    counter.increment();
    conn.close();
    long n = refusedSinceLog.incrementAndGet();
    Instant now = clock.instant();
    Instant last = lastLog.get();
    if (Duration.between(last, now).compareTo(LOG_EVERY) >= 0 && lastLog.compareAndSet(last, now)) {
      refusedSinceLog.addAndGet(-n);
      log.warn("refused {} connection(s) over the gateway's connection limits (latest from {}, over"
          + " {} = {}); raise the setting if these are legitimate clients", n, client, setting,
          limit);
    }
  }

  private static String clientOf(HttpConnection conn) {
    SocketAddress a = conn.remoteAddress();
    if (a == null) {
      return "unknown";
    }
    String host = a.hostAddress();
    return host != null ? host : a.toString();
  }
}
