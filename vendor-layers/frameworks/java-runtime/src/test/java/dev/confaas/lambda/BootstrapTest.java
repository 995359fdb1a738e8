package dev.confaas.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime loop in-process against a Runtime API on 127.0.0.1 that serves a fixed list of events
 * and then answers {@code next} with 410, which ends the loop (as the agent going away would).
 */
class BootstrapTest {
  private static final Instant NOW = Instant.parse("2026-11-22T08:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @TempDir Path taskRoot;
  private HttpServer server;
  private final Deque<byte[]> events = new ArrayDeque<>();
  /** "kind id errorTypeHeader" then the body, per post. */
  private final List<String[]> posts = new ArrayList<>();
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();

  public static final class Upper implements StringHandler {
    @Override
    public String handleText(String event, Context context) {
      return event.toUpperCase(java.util.Locale.ROOT) + " " + context.remainingTime().toSeconds()
          + "s " + context.invokedFunctionArn() + " " + context.functionName();
    }
  }

  public static final class Bytes implements Handler {
    @Override
    public byte[] handle(byte[] event, Context context) throws Exception {
      if (event.length == 0) {
        throw new java.io.FileNotFoundException("order \"42\"\nnot found");
      }
      byte[] out = event.clone();
      for (int i = 0; i < out.length; i++) {
        out[i] = (byte) ~out[i];
      }
      return out;
    }
  }

  public static final class NotAHandler {}

  public static final class Broken implements Handler {
    public Broken() {
      throw new IllegalArgumentException("missing config TABLE_NAME");
    }

    @Override
    public byte[] handle(byte[] event, Context context) {
      return event;
    }
  }

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
    server.createContext("/2018-06-01/runtime/", this::handle);
    server.start();
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private synchronized void handle(HttpExchange x) throws IOException {
    try (x) {
      String path = x.getRequestURI().getPath().substring("/2018-06-01/runtime/".length());
      byte[] body;
      try (InputStream in = x.getRequestBody()) {
        body = in.readAllBytes();
      }
      if (path.equals("invocation/next")) {
        byte[] event = events.poll();
        if (event == null) {
          send(x, 410, "{\"errorMessage\":\"no more events in this test\"}".getBytes());
          return;
        }
        x.getResponseHeaders().add("Lambda-Runtime-Aws-Request-Id", "id-" + events.size());
        x.getResponseHeaders().add("Lambda-Runtime-Deadline-Ms",
            Long.toString(NOW.plusSeconds(3).toEpochMilli()));
        x.getResponseHeaders().add("Lambda-Runtime-Invoked-Function-Arn", "arn:test");
        send(x, 200, event);
      } else {
        String type = x.getRequestHeaders().getFirst("Lambda-Runtime-Function-Error-Type");
        posts.add(new String[] {path + " " + type, new String(body, StandardCharsets.ISO_8859_1)});
        send(x, 202, new byte[0]);
      }
    }
  }

  private static void send(HttpExchange x, int status, byte[] body) throws IOException {
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  private int run(Class<?> handler) throws IOException {
    // The handler's class file in the task root, as a function layer would hold it.
    String file = handler.getName().replace('.', '/') + ".class";
    Path target = taskRoot.resolve(file);
    Files.createDirectories(target.getParent());
    try (InputStream in = handler.getClassLoader().getResourceAsStream(file)) {
      Files.write(target, in.readAllBytes());
    }
    return runNamed(handler.getName());
  }

  private int runNamed(String handler) {
    RuntimeApiClient api = new RuntimeApiClient("127.0.0.1:" + server.getAddress().getPort());
    Map<String, String> env = Map.of("_HANDLER", handler, "LAMBDA_TASK_ROOT",
        taskRoot.toString(), "AWS_LAMBDA_FUNCTION_NAME", "orders");
    return new Bootstrap(api, env, CLOCK, new PrintStream(log, true, StandardCharsets.UTF_8)).run();
  }

  @Test
  void servesEventsUntilTheApiGoesAway() throws IOException {
    events.add("abc".getBytes(StandardCharsets.UTF_8));
    events.add("xyz".getBytes(StandardCharsets.UTF_8));
    assertEquals(1, run(Upper.class), "the loop ends with status 1 when next fails");
    assertEquals(2, posts.size());
    assertEquals("invocation/id-1/response null", posts.get(0)[0]);
    assertEquals("ABC 3s arn:test orders", posts.get(0)[1]);
    assertEquals("XYZ 3s arn:test orders", posts.get(1)[1]);
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("410"), log.toString());
  }

  @Test
  void binaryHandlerSeesEveryByteAndErrorsCarryTheExceptionClass() throws IOException {
    byte[] all = new byte[256];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    events.add(all);
    events.add(new byte[0]);
    run(Bytes.class);
    byte[] got = posts.get(0)[1].getBytes(StandardCharsets.ISO_8859_1);
    for (int i = 0; i < 256; i++) {
      assertEquals((byte) ~i, got[i], "byte " + i + " of the response");
    }
    assertEquals("invocation/id-0/error java.io.FileNotFoundException", posts.get(1)[0]);
    assertTrue(posts.get(1)[1].startsWith("{\"errorMessage\":\"order \\\"42\\\"\\nnot found\","
        + "\"errorType\":\"java.io.FileNotFoundException\",\"stackTrace\":[\""), posts.get(1)[1]);
  }

  @Test
  void initErrorsSayWhatIsWrongWithTheHandler() throws IOException {
    events.add("never served".getBytes(StandardCharsets.UTF_8));
    assertEquals(1, runNamed("com.example.Missing"));
    assertEquals(1, run(NotAHandler.class));
    assertEquals(1, run(Broken.class));
    assertEquals(1, runNamed(" "));
    assertEquals(List.of(
        "init/error Runtime.HandlerNotFound",
        "init/error Runtime.InvalidHandler",
        "init/error Runtime.HandlerInitFailed",
        "init/error Runtime.HandlerNotSet"), posts.stream().map(p -> p[0]).toList());
    assertTrue(posts.get(2)[1].contains("missing config TABLE_NAME"), posts.get(2)[1]);
    assertEquals(1, events.size(), "no event may be taken before the handler loaded");
  }

  @Test
  void contextCountsDownToTheDeadline() {
    Context c = new Context("id", NOW.plusMillis(1500), "arn", null, null, null, "f", "1", 128,
        CLOCK);
    assertEquals(Duration.ofMillis(1500), c.remainingTime());
    Context late = new Context("id", NOW.minusSeconds(1), "arn", null, null, null, "f", "1", 128,
        CLOCK);
    assertEquals(Duration.ZERO, late.remainingTime());
  }
}
