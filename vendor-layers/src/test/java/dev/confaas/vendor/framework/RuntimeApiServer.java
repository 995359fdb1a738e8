package dev.confaas.vendor.framework;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test-local AWS Lambda Runtime API (2018-06-01) on 127.0.0.1: hands out queued events on {@code
 * next} and records what the runtime posts back. It tests the client side of the layers; the
 * agent's real server is tested in function-runtime.
 */
final class RuntimeApiServer implements AutoCloseable {
  /** What a runtime posted: kind is response, error or init-error. */
  record Posted(String kind, String requestId, byte[] body, String errorTypeHeader) {
    String text() {
      return new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final BlockingQueue<byte[]> events = new LinkedBlockingQueue<>();
  private final BlockingQueue<Posted> posted = new LinkedBlockingQueue<>();
  private final AtomicInteger ids = new AtomicInteger();

  RuntimeApiServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setExecutor(executor);
    server.createContext("/2018-06-01/runtime/", this::handle);
    server.start();
  }

  /** {@code AWS_LAMBDA_RUNTIME_API}. */
  String hostPort() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  void enqueue(byte[] event) {
    events.add(event);
  }

  /** The next thing the runtime posted, waiting up to 30 s for it (a bound, not a pacing sleep). */
  Posted awaitPosted() throws InterruptedException {
    Posted p = posted.poll(30, TimeUnit.SECONDS);
    if (p == null) {
      throw new AssertionError("the runtime posted nothing to the Runtime API within 30 s");
    }
    return p;
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String path = x.getRequestURI().getPath().substring("/2018-06-01/runtime/".length());
      byte[] body;
      try (InputStream in = x.getRequestBody()) {
        body = in.readAllBytes();
      }
      String errorType = x.getRequestHeaders().getFirst("Lambda-Runtime-Function-Error-Type");
      if (x.getRequestMethod().equals("GET") && path.equals("invocation/next")) {
        byte[] event;
        try {
          event = events.take(); // long poll, as the agent does
        } catch (InterruptedException e) {
          return;
        }
        String id = "req-" + ids.incrementAndGet();
        // As AWS and the agent send it: AWS's client (its JNI part) crashes on a next without one.
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.getResponseHeaders().add("Lambda-Runtime-Aws-Request-Id", id);
        x.getResponseHeaders().add("Lambda-Runtime-Deadline-Ms",
            Long.toString(System.currentTimeMillis() + 60_000));
        x.getResponseHeaders().add("Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:td:000000000000:function:test");
        x.getResponseHeaders().add("Lambda-Runtime-Trace-Id", "Root=1-test");
        send(x, 200, event);
      } else if (x.getRequestMethod().equals("POST") && path.equals("init/error")) {
        posted.add(new Posted("init-error", null, body, errorType));
        send(x, 202, "{\"status\":\"OK\"}".getBytes());
      } else if (x.getRequestMethod().equals("POST") && path.matches("invocation/[^/]+/(response|error)")) {
        String[] parts = path.split("/");
        posted.add(new Posted(parts[2], parts[1], body, errorType));
        send(x, 202, "{\"status\":\"OK\"}".getBytes());
      } else {
        send(x, 404, "{\"errorMessage\":\"no such path\",\"errorType\":\"NotFound\"}".getBytes());
      }
    }
  }

  private static void send(HttpExchange x, int status, byte[] body) throws IOException {
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
