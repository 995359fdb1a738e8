package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, defect 1: one client holding or dropping connections must not take the gateway down
 * nor fill its log. Real sockets against a real gateway; the attacker connects from 127.0.0.2 so a
 * caller on 127.0.0.1 is another client address.
 */
class GatewayConnectionLimitsTest {
  static final String ATTACKER = "127.0.0.2";

  @TempDir Path data;
  TestInvoker invoker = new TestInvoker();
  Gateway gateway;
  final List<Socket> sockets = new ArrayList<>();

  Gateway start(UnaryOperator<GatewayConfig.Builder> settings) throws IOException {
    GatewayConfig config = settings.apply(GatewayConfig.builder(data)
        .clock(Clock.systemUTC())
        .shutdownGrace(Duration.ofSeconds(1))).build();
    gateway = new Gateway(config, invoker, FunctionRegistry.open(data, Clock.systemUTC()),
        new InMemoryAsyncInvocations(invoker, Clock.systemUTC(), Duration.ofHours(1),
            Duration.ofMinutes(1)),
        JsonArray::new, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    return gateway;
  }

  @AfterEach
  void stop() {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void excessConnectionsFromOneClientAreClosedAndOtherClientsAreStillServed() throws Exception {
    start(b -> b.maxConnectionsPerClient(20).maxConnections(200));
    Http caller = new Http(gateway.url(), null);

    int open = 60;
    for (int i = 0; i < open; i++) {
      sockets.add(connect(ATTACKER));
    }
    // The gateway closes each connection over the cap at once; the first 20 stay open.
    long closed = awaitClosed(sockets, 40, Duration.ofSeconds(10));
    assertEquals(40, closed, "connections over gateway.maxConnectionsPerClient (20) are closed");

    HttpResponse<String> during = caller.post("/v1/functions/upper/invoke", "during");
    assertEquals(200, during.statusCode(), during.body());
    assertEquals("DURING", during.body());

    // A connection within the cap still serves requests.
    Socket held = sockets.stream().filter(s -> !isClosedByPeer(s)).findFirst().orElseThrow();
    assertTrue(rawInvoke(held, "held").startsWith("HTTP/1.1 200"), "a held connection is served");

    for (Socket s : sockets) {
      s.close();
    }
    sockets.clear();
    // Once the attacker lets go, its address gets its full share back.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String answer = "";
    while (System.nanoTime() < deadline) {
      try (Socket again = connect(ATTACKER)) {
        answer = rawInvoke(again, "after");
        if (answer.startsWith("HTTP/1.1 200")) {
          break;
        }
      } catch (IOException e) {
        answer = e.toString();
      }
      Thread.sleep(50);
    }
    assertTrue(answer.startsWith("HTTP/1.1 200"), "after the attacker left: " + answer);
  }

  @Test
  void theServerWideCapClosesConnectionsFromEveryAddressOverIt() throws Exception {
    start(b -> b.maxConnectionsPerClient(1000).maxConnections(30));
    for (int i = 0; i < 30; i++) {
      sockets.add(connect("127.0.0." + (2 + i % 5)));
    }
    Thread.sleep(300);
    assertEquals(0, sockets.stream().filter(GatewayConnectionLimitsTest::isClosedByPeer).count(),
        "the first 30 connections are within gateway.maxConnections");
    List<Socket> over = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      over.add(connect("127.0.0.9"));
    }
    sockets.addAll(over);
    assertEquals(10, awaitClosed(over, 10, Duration.ofSeconds(10)),
        "connections over gateway.maxConnections are closed, whichever address they come from");

    for (Socket s : sockets) {
      s.close();
    }
    sockets.clear();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int status = 0;
    while (status != 200 && System.nanoTime() < deadline) {
      try {
        status = new Http(gateway.url(), null).post("/v1/functions/upper/invoke", "x").statusCode();
      } catch (RuntimeException e) {
        Thread.sleep(50);
      }
    }
    assertEquals(200, status, "served again once the connections are gone");
  }

  @Test
  void aConnectionThatSendsNoRequestIsClosedAfterTheHeaderTimeout() throws Exception {
    start(b -> b.requestHeaderTimeout(Duration.ofMillis(500)).idleTimeout(Duration.ofMinutes(2)));
    Socket silent = connect(ATTACKER);
    Socket slow = connect(ATTACKER);
    sockets.add(silent);
    sockets.add(slow);
    // A slowloris: a request line and then nothing more.
    slow.getOutputStream().write("POST /v1/functions/upper/invoke HTTP/1.1\r\nHost: x\r\n"
        .getBytes(StandardCharsets.US_ASCII));
    long t0 = System.nanoTime();
    assertEquals(2, awaitClosed(sockets, 2, Duration.ofSeconds(10)));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertTrue(ms >= 300, "closed after the header timeout, not at once (" + ms + " ms)");

    // A connection that sends its request in time is served and kept alive for the next one.
    try (Socket ok = connect(ATTACKER)) {
      assertTrue(rawInvoke(ok, "one").startsWith("HTTP/1.1 200"));
      Thread.sleep(800); // past the header timeout: between requests the idle timeout rules
      assertTrue(rawInvoke(ok, "two").startsWith("HTTP/1.1 200"));
    }
  }

  @Test
  void droppedConnectionsLogNoErrors() throws Exception {
    start(b -> b);
    Http admin = new Http(gateway.url(), gateway.adminToken());
    PrintStream originalErr = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    // slf4j-simple (the tests' and the CLI's logger, which Vert.x logs through) writes to
    // System.err as it finds it at each line.
    System.setErr(new PrintStream(new TeeStream(captured, originalErr), true));
    try {
      for (int i = 0; i < 50; i++) {
        // closed before sending anything
        connect(ATTACKER).close();
        // cut off in the headers
        try (Socket s = connect(ATTACKER)) {
          s.getOutputStream().write("POST /v1/functions/upper/invo".getBytes(StandardCharsets.US_ASCII));
          reset(s);
        }
        // cut off in an event's body
        try (Socket s = connect(ATTACKER)) {
          s.getOutputStream().write(("POST /v1/functions/upper/invoke HTTP/1.1\r\nHost: x\r\n"
              + "Content-Length: 100000\r\n\r\nabc").getBytes(StandardCharsets.US_ASCII));
          reset(s);
        }
        // cut off in a deploy bundle's body (Vert.x Web's BodyHandler, multipart)
        try (Socket s = connect(ATTACKER)) {
          s.getOutputStream().write(("POST /v1/functions HTTP/1.1\r\nHost: x\r\n"
              + "Authorization: Bearer " + gateway.adminToken() + "\r\n"
              + "Content-Type: multipart/form-data; boundary=b\r\n"
              + "Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"x\";"
              + " filename=\"x\"\r\n\r\nabc").getBytes(StandardCharsets.US_ASCII));
          reset(s);
        }
        // a JSON body cut off (a mounted route's own BodyHandler)
        try (Socket s = connect(ATTACKER)) {
          s.getOutputStream().write(("PUT /v1/functions/upper/aliases/live HTTP/1.1\r\nHost: x\r\n"
              + "Authorization: Bearer " + gateway.adminToken() + "\r\n"
              + "Content-Type: application/json\r\n"
              + "Content-Length: 1000\r\n\r\n{\"ver").getBytes(StandardCharsets.US_ASCII));
          reset(s);
        }
      }
      // gone while its invocation runs: the answer has nowhere to go
      List<Socket> waiting = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        Socket s = connect(ATTACKER);
        s.getOutputStream().write(("POST /v1/functions/slow/invoke HTTP/1.1\r\nHost: x\r\n"
            + "Content-Length: 1\r\n\r\nz").getBytes(StandardCharsets.US_ASCII));
        waiting.add(s);
      }
      List<TestInvoker.Pending> pending = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        TestInvoker.Pending p = invoker.pending.poll(10, TimeUnit.SECONDS);
        assertTrue(p != null, "the slow invocation reached the invoker");
        pending.add(p);
      }
      for (Socket s : waiting) {
        reset(s);
      }
      Thread.sleep(300);
      pending.forEach(p -> p.answer("late"));
      HttpResponse<String> after = admin.post("/v1/functions/upper/invoke", "still here");
      assertEquals(200, after.statusCode(), after.body());
      Thread.sleep(500); // let the event loop log whatever it would
    } finally {
      System.setErr(originalErr);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    List<String> errors = log.lines().filter(l -> l.contains(" ERROR ")
        || l.contains("Unhandled exception")).toList();
    assertEquals(List.of(), errors, "a client's disconnect is not an error; the log was:\n" + log);
  }

  // --- helpers -----------------------------------------------------------------------------------

  private Socket connect(String from) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
    s.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
    return s;
  }

  /** Closes with a TCP RST, as a client that dies does. */
  private static void reset(Socket s) throws IOException {
    s.setSoLinger(true, 0);
    s.close();
  }

  private static boolean isClosedByPeer(Socket s) {
    try {
      s.setSoTimeout(1);
      int b = s.getInputStream().read();
      return b == -1;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  private static long awaitClosed(List<Socket> sockets, long want, Duration within)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    long closed;
    do {
      closed = sockets.stream().filter(GatewayConnectionLimitsTest::isClosedByPeer).count();
      if (closed >= want) {
        break;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    Thread.sleep(200); // and no more than that
    return sockets.stream().filter(GatewayConnectionLimitsTest::isClosedByPeer).count();
  }

  /** One keep-alive invocation of {@code upper} on {@code s}; the status line and headers. */
  private static String rawInvoke(Socket s, String event) throws IOException {
    s.setSoTimeout(5000);
    OutputStream out = s.getOutputStream();
    out.write(("POST /v1/functions/upper/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + event.length() + "\r\n\r\n" + event).getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    try {
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          return "closed: " + head;
        }
        head.append((char) b);
      }
    } catch (SocketException e) {
      return "reset: " + head;
    }
    String h = head.toString();
    int at = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length: ");
    int n = Integer.parseInt(h.substring(at + 16, h.indexOf("\r\n", at)).strip());
    in.readNBytes(n);
    return h;
  }

  private static final class TeeStream extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    TeeStream(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) throws IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}
