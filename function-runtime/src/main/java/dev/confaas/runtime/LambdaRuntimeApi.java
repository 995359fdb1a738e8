package dev.confaas.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The AWS Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) as
 * served to ONE function instance.
 *
 * <p>One server per instance, on a port only that instance can reach, rather than one server that
 * routes by request ID: the port is the caller's identity, so a function can never fetch or answer
 * another instance's events by guessing IDs, even when functions of different signers share a TD.
 * Where the host allows, the socket is created inside the instance's own network namespace (see
 * {@link NetNamespace}) and the function reaches it as {@code 127.0.0.1:9001}, as in Lambda.
 *
 * <p>It is the JDK's {@code HttpServer} rather than Vert.x because its listening socket is bound on
 * the calling thread, which is what lets the agent create it inside another network namespace;
 * Vert.x binds on its event loop. The load is one request at a time per instance, so the JDK
 * server's dispatcher thread runs the handlers itself; none of them waits: {@code next} is parked
 * and answered later by {@link #deliver}.
 */
final class LambdaRuntimeApi implements AutoCloseable {
  /** Callbacks into the instance that owns this endpoint. Called on the server's thread. */
  interface Listener {
    /** The runtime asked for an event ({@code GET invocation/next}). */
    void nextRequested();

    /** The runtime posted the response of the current invocation. */
    void responded(String requestId, byte[] payload);

    /** The runtime posted an error for the current invocation. */
    void failed(String requestId, String errorType, String errorMessage);

    /** The runtime posted a response larger than the limit. */
    void responseTooLarge(String requestId, long size, long limit);

    /** The runtime reported that it could not initialise. */
    void initFailed(String errorType, String errorMessage);
  }

  static final String VERSION_PREFIX = "/2018-06-01/runtime";
  /** Lambda's synchronous response limit. */
  static final int DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
  private static final int MAX_ERROR_BODY_BYTES = 1024 * 1024;
  private static final Pattern INVOCATION_PATH =
      Pattern.compile(VERSION_PREFIX + "/invocation/([^/]+)/(response|error)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final Clock clock;
  private final int maxResponseBytes;
  private final Listener listener;
  private final String functionArn;

  private final Object lock = new Object();
  private HttpExchange parkedNext; // guarded by lock
  private Event pending; // guarded by lock: delivered, waiting for a next
  private String currentRequestId; // guarded by lock: handed out, not yet answered

  /** An event as the function will see it. */
  private record Event(Invocation invocation, long deadlineEpochMs) {}

  private LambdaRuntimeApi(
      HttpServer server, Clock clock, int maxResponseBytes, String functionArn, Listener listener) {
    this.server = server;
    this.clock = clock;
    this.maxResponseBytes = maxResponseBytes;
    this.functionArn = functionArn;
    this.listener = listener;
    server.createContext("/", this::handle);
  }

  /**
   * Binds the endpoint's socket on the calling thread (so in the calling thread's network
   * namespace) without serving yet.
   */
  static LambdaRuntimeApi bind(
      InetSocketAddress address,
      Clock clock,
      int maxResponseBytes,
      String functionArn,
      Listener listener)
      throws IOException {
    return new LambdaRuntimeApi(
        HttpServer.create(address, 16), clock, maxResponseBytes, functionArn, listener);
  }

  /** Starts serving; the dispatcher thread is created by (and in the namespace of) the caller. */
  void start() {
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  /**
   * Hands an event to the function: answers a parked {@code next} now, or the next one to come.
   * The caller guarantees one invocation at a time.
   *
   * @return the deadline shown to the function, epoch milliseconds
   */
  long deliver(Invocation invocation) {
    Event event = new Event(invocation, clock.millis() + invocation.timeout().toMillis());
    HttpExchange next;
    synchronized (lock) {
      if (currentRequestId != null) {
        throw new IllegalStateException(
            "invocation " + currentRequestId + " is still in progress on this instance");
      }
      currentRequestId = invocation.requestId();
      next = parkedNext;
      parkedNext = null;
      if (next == null) {
        pending = event;
      }
    }
    if (next != null) {
      send(next, event);
    }
    return event.deadlineEpochMs();
  }

  /** Forgets the current invocation (timed out or abandoned): late answers to it get 400. */
  void abandon() {
    synchronized (lock) {
      currentRequestId = null;
      pending = null;
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      if (path.equals(VERSION_PREFIX + "/invocation/next")) {
        if (!method.equals("GET")) {
          reply(exchange, 405, "MethodNotAllowed", "invocation/next takes GET");
          return;
        }
        onNext(exchange);
        return;
      }
      if (path.equals(VERSION_PREFIX + "/init/error")) {
        if (!method.equals("POST")) {
          reply(exchange, 405, "MethodNotAllowed", "init/error takes POST");
          return;
        }
        byte[] body = readBody(exchange, MAX_ERROR_BODY_BYTES);
        if (body == null) {
          return;
        }
        String[] error = parseError(exchange, body);
        listener.initFailed(error[0], error[1]);
        accepted(exchange);
        return;
      }
      Matcher m = INVOCATION_PATH.matcher(path);
      if (!m.matches()) {
        reply(exchange, 404, "NotFound", "no Runtime API resource at " + path);
        return;
      }
      if (!method.equals("POST")) {
        reply(exchange, 405, "MethodNotAllowed", "invocation/{id}/" + m.group(2) + " takes POST");
        return;
      }
      onAnswer(exchange, m.group(1), m.group(2).equals("response"));
    } catch (IOException e) {
      // The function closed its connection mid-request: nothing to answer, and not the agent's fault.
      exchange.close();
    }
  }

  private void onNext(HttpExchange exchange) {
    Event event;
    HttpExchange replaced;
    synchronized (lock) {
      event = pending;
      pending = null;
      replaced = null;
      if (event == null) {
        // A runtime that retries next after losing its connection leaves the old one parked.
        replaced = parkedNext;
        parkedNext = exchange;
      }
    }
    if (replaced != null) {
      replaced.close();
    }
    if (event != null) {
      send(exchange, event);
    }
    listener.nextRequested();
  }

  private void send(HttpExchange exchange, Event event) {
    Invocation inv = event.invocation();
    var h = exchange.getResponseHeaders();
    h.set("Content-Type", "application/json");
    h.set("Lambda-Runtime-Aws-Request-Id", inv.requestId());
    h.set("Lambda-Runtime-Deadline-Ms", Long.toString(event.deadlineEpochMs()));
    h.set(
        "Lambda-Runtime-Invoked-Function-Arn",
        inv.invokedFunctionArn().isEmpty() ? functionArn : inv.invokedFunctionArn());
    if (!inv.traceId().isEmpty()) {
      h.set("Lambda-Runtime-Trace-Id", inv.traceId());
    }
    if (!inv.clientContext().isEmpty()) {
      h.set("Lambda-Runtime-Client-Context", inv.clientContext());
    }
    if (!inv.cognitoIdentity().isEmpty()) {
      h.set("Lambda-Runtime-Cognito-Identity", inv.cognitoIdentity());
    }
    byte[] body = inv.payload();
    try {
      exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } catch (IOException e) {
      // The runtime hung up while parked; keep the event for its next call to next.
      exchange.close();
      synchronized (lock) {
        if (inv.requestId().equals(currentRequestId) && pending == null) {
          pending = event;
        }
      }
    }
  }

  private void onAnswer(HttpExchange exchange, String requestId, boolean isResponse)
      throws IOException {
    synchronized (lock) {
      if (!requestId.equals(currentRequestId) || pending != null) {
        reply(
            exchange,
            400,
            "InvalidRequestID",
            "request ID " + requestId + " is not an invocation in progress on this instance");
        return;
      }
    }
    long limit = isResponse ? maxResponseBytes : MAX_ERROR_BODY_BYTES;
    long declared = contentLength(exchange);
    byte[] body = declared > limit ? null : readBody(exchange, (int) limit);
    if (body == null) {
      if (claim(requestId)) {
        listener.responseTooLarge(requestId, Math.max(declared, limit + 1), limit);
      }
      exchange.getResponseHeaders().set("Connection", "close");
      reply(
          exchange,
          413,
          "RequestEntityTooLarge",
          "the " + (isResponse ? "response" : "error") + " is larger than the " + limit
              + "-byte limit");
      return;
    }
    if (!claim(requestId)) {
      reply(exchange, 400, "InvalidRequestID", "request ID " + requestId + " was already answered");
      return;
    }
    if (isResponse) {
      listener.responded(requestId, body);
    } else {
      String[] error = parseError(exchange, body);
      listener.failed(requestId, error[0], error[1]);
    }
    accepted(exchange);
  }

  /** Ends the current invocation if it is still {@code requestId}; false if it already ended. */
  private boolean claim(String requestId) {
    synchronized (lock) {
      if (!requestId.equals(currentRequestId)) {
        return false;
      }
      currentRequestId = null;
      return true;
    }
  }

  private static long contentLength(HttpExchange exchange) {
    String v = exchange.getRequestHeaders().getFirst("Content-Length");
    try {
      return v == null ? -1 : Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Reads at most {@code limit} bytes; null if the body is longer. */
  private static byte[] readBody(HttpExchange exchange, int limit) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = exchange.getRequestBody()) {
      int n;
      while ((n = in.read(buf)) > 0) {
        if (out.size() + n > limit) {
          return null;
        }
        out.write(buf, 0, n);
      }
    }
    return out.toByteArray();
  }

  /** Returns {errorType, errorMessage} from Lambda's error body and error-type header. */
  private static String[] parseError(HttpExchange exchange, byte[] body) {
    String type = exchange.getRequestHeaders().getFirst("Lambda-Runtime-Function-Error-Type");
    String message = null;
    try {
      JsonNode node = JSON.readTree(body);
      if (node != null && node.isObject()) {
        if (node.hasNonNull("errorMessage")) {
          message = node.get("errorMessage").asText();
        }
        if ((type == null || type.isEmpty()) && node.hasNonNull("errorType")) {
          type = node.get("errorType").asText();
        }
      }
    } catch (IOException notJson) {
      // Runtimes may post plain text; keep it as the message.
    }
    if (message == null) {
      message = new String(body, StandardCharsets.UTF_8);
    }
    if (message.length() > 64 * 1024) {
      message = message.substring(0, 64 * 1024);
    }
    if (type == null || type.isEmpty()) {
      type = "Unhandled";
    }
    if (type.length() > 256) {
      type = type.substring(0, 256);
    }
    return new String[] {type, message};
  }

  private static void accepted(HttpExchange exchange) throws IOException {
    writeJson(exchange, 202, Map.of("status", "OK"));
  }

  private static void reply(HttpExchange exchange, int status, String type, String message)
      throws IOException {
    Map<String, String> body = new LinkedHashMap<>();
    body.put("errorMessage", message);
    body.put("errorType", type);
    writeJson(exchange, status, body);
  }

  private static void writeJson(HttpExchange exchange, int status, Map<String, String> body)
      throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
