package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Runtime API endpoint of one instance, driven the way a custom runtime drives it. */
class LambdaRuntimeApiTest {
  private static final Instant NOW = Instant.parse("2026-11-22T08:00:00Z");
  private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
  private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> documents = new LinkedBlockingQueue<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private final NioEventLoopGroup loop = new NioEventLoopGroup(1);
  private LambdaRuntimeApi api;
  private String base;

  @BeforeEach
  void start() throws Exception {
    LambdaRuntimeApi.Listener recorder =
        new LambdaRuntimeApi.Listener() {
          @Override
          public void nextRequested() {
            events.add("next");
          }

          @Override
          public void responded(String id, byte[] payload) {
            events.add("response " + id + " " + new String(payload, StandardCharsets.UTF_8));
          }

          @Override
          public void failed(String id, String type, String message, String document) {
            events.add("error " + id + " " + type + " " + message);
            documents.add(document);
          }

          @Override
          public void responseTooLarge(String id, long size, long limit) {
            events.add("too-large " + id + " limit " + limit);
          }

          @Override
          public void initFailed(String type, String message, String document) {
            events.add("init-error " + type + " " + message);
          }
        };
    api =
        LambdaRuntimeApi.bind(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            loop,
            clock,
            1024,
            "arn:aws:lambda:td:000000000000:function:upper",
            recorder);
    api.start();
    base = "http://127.0.0.1:" + api.port() + "/2018-06-01/runtime";
  }

  @AfterEach
  void stop() {
    api.close();
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  private CompletableFuture<HttpResponse<String>> next() {
    return http.sendAsync(
        HttpRequest.newBuilder(URI.create(base + "/invocation/next")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String event() throws InterruptedException {
    String e = events.poll(10, TimeUnit.SECONDS);
    assertTrue(e != null, "the endpoint reported nothing to its instance within 10 s");
    return e;
  }

  @Test
  void nextWaitsForAnEventAndCarriesTheLambdaHeaders() throws Exception {
    CompletableFuture<HttpResponse<String>> parked = next();
    assertEquals("next", event());
    assertFalse(parked.isDone(), "next must long-poll until there is an event");

    long deadline =
        api.deliver(
            new Invocation(
                "{\"n\":1}".getBytes(StandardCharsets.UTF_8),
                Duration.ofMillis(2500),
                "req-1",
                "",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
                "{\"client\":1}",
                ""));

    HttpResponse<String> r = parked.get(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertEquals("{\"n\":1}", r.body());
    assertEquals("req-1", r.headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElse(null));
    assertEquals(NOW.toEpochMilli() + 2500, deadline, "deadline = agent clock + timeout");
    assertEquals(
        Long.toString(deadline), r.headers().firstValue("Lambda-Runtime-Deadline-Ms").orElse(null));
    assertEquals(
        "arn:aws:lambda:td:000000000000:function:upper",
        r.headers().firstValue("Lambda-Runtime-Invoked-Function-Arn").orElse(null));
    assertEquals(
        "Root=1-5759e988-bd862e3fe1be46a994272793",
        r.headers().firstValue("Lambda-Runtime-Trace-Id").orElse(null));
    assertEquals(
        "{\"client\":1}", r.headers().firstValue("Lambda-Runtime-Client-Context").orElse(null));
    assertTrue(
        r.headers().firstValue("Lambda-Runtime-Cognito-Identity").isEmpty(),
        "absent identity must not be sent as an empty header");

    HttpResponse<String> ack = post("/invocation/req-1/response", "{\"n\":2}");
    assertEquals(202, ack.statusCode());
    assertEquals("response req-1 {\"n\":2}", event());

    HttpResponse<String> again = post("/invocation/req-1/response", "late");
    assertEquals(400, again.statusCode(), "a second answer to the same request must be refused");
  }

  @Test
  void anEventDeliveredBeforeNextIsHandedToTheNextCall() throws Exception {
    api.deliver(Invocation.of("early".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(1)));
    HttpResponse<String> r = next().get(10, TimeUnit.SECONDS);
    assertEquals("early", r.body());
  }

  @Test
  void unknownRequestIdGetsAnAwsStyle400() throws Exception {
    HttpResponse<String> r = post("/invocation/nobody/response", "x");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().contains("\"errorType\":\"InvalidRequestID\""), r.body());
    assertTrue(r.body().contains("\"errorMessage\""), r.body());
    assertTrue(events.isEmpty(), "a refused answer must not reach the instance: " + events);
  }

  @Test
  void responsesOverTheLimitGet413AndFailTheInvocation() throws Exception {
    next();
    assertEquals("next", event());
    api.deliver(
        new Invocation(new byte[] {1}, Duration.ofSeconds(1), "big", "", "", "", ""));
    HttpResponse<String> r = post("/invocation/big/response", "x".repeat(1025));
    assertEquals(413, r.statusCode());
    assertTrue(r.body().contains("RequestEntityTooLarge"), r.body());
    assertEquals("too-large big limit 1024", event());
  }

  @Test
  void theBodysErrorTypeWinsOverTheHeaderAsAwsJavaClientSendsBoth() throws Exception {
    next();
    assertEquals("next", event());
    api.deliver(new Invocation(new byte[0], Duration.ofSeconds(1), "e1", "", "", "", ""));
    // What AWS's Java runtime interface client posts for a thrown exception.
    HttpResponse<String> r =
        post(
            "/invocation/e1/error",
            "{\"errorMessage\":\"division by zero\",\"errorType\":\"java.lang.ArithmeticException\","
                + "\"stackTrace\":[\"Calc.divide(Calc.java:7)\"]}",
            "Lambda-Runtime-Function-Error-Type",
            "Runtime.UserException");
    assertEquals(202, r.statusCode());
    assertEquals("error e1 java.lang.ArithmeticException division by zero", event());

    next();
    assertEquals("next", event());
    api.deliver(new Invocation(new byte[0], Duration.ofSeconds(1), "e4", "", "", "", ""));
    post("/invocation/e4/error", "{\"errorMessage\":\"no type in the body\"}",
        "Lambda-Runtime-Function-Error-Type", "Unhandled.ZeroDivision");
    assertEquals("error e4 Unhandled.ZeroDivision no type in the body", event(),
        "without errorType in the body the header is the type");
  }

  @Test
  void initErrorsAreReported() throws Exception {
    HttpResponse<String> r =
        post("/init/error", "{\"errorMessage\":\"no handler\",\"errorType\":\"Runtime.NoHandler\"}");
    assertEquals(202, r.statusCode());
    assertEquals("init-error Runtime.NoHandler no handler", event());
  }

  @Test
  void anInitErrorKeepsTheBodysTypeOverTheHeader() throws Exception {
    HttpResponse<String> r =
        post("/init/error",
            "{\"errorMessage\":\"Class not found: pkg.Missing\","
                + "\"errorType\":\"java.lang.ClassNotFoundException\"}",
            "Lambda-Runtime-Function-Error-Type", "Runtime.Unknown");
    assertEquals(202, r.statusCode());
    assertEquals("init-error java.lang.ClassNotFoundException Class not found: pkg.Missing", event());
  }

  @Test
  void theFunctionsErrorDocumentIsPassedOnWithItsOwnMembers() throws Exception {
    next();
    assertEquals("next", event());
    api.deliver(new Invocation(new byte[0], Duration.ofSeconds(1), "e2", "", "", "", ""));
    String posted = "{\"errorMessage\":\"handler h exited with status 3\",\"errorType\":"
        + "\"HandlerError\",\"stackTrace\":[\"at h:1\"],\"exitStatus\":3}";
    assertEquals(202, post("/invocation/e2/error", posted).statusCode());
    assertEquals("error e2 HandlerError handler h exited with status 3", event());
    assertEquals(posted, documents.poll(10, TimeUnit.SECONDS),
        "stackTrace and exitStatus must reach the caller as the function posted them");

    next();
    assertEquals("next", event());
    api.deliver(new Invocation(new byte[0], Duration.ofSeconds(1), "e3", "", "", "", ""));
    assertEquals(202, post("/invocation/e3/error", "plain words").statusCode());
    assertEquals("error e3 Unhandled plain words", event());
    assertEquals("", documents.poll(10, TimeUnit.SECONDS), "only a JSON object is a document");
  }

  @Test
  void unknownPathsAndMethodsAreRefused() throws Exception {
    assertEquals(404, post("/invocation/x/teapot", "").statusCode());
    assertEquals(405, post("/invocation/next", "").statusCode());
  }

  @Test
  void anEmptyEventArrivesAsAnEmptyBody() throws Exception {
    api.deliver(Invocation.of(new byte[0], Duration.ofSeconds(1)));
    HttpResponse<byte[]> r =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/invocation/next")).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertArrayEquals(new byte[0], r.body());
  }

  @Test
  void headerNamesGoOutAsAwsSpellsThem() throws Exception {
    api.deliver(new Invocation(new byte[] {'x'}, Duration.ofSeconds(1), "case-1", "", "t", "", ""));
    try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), api.port())) {
      s.getOutputStream()
          .write(
              "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      String raw = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertTrue(raw.contains("\r\nLambda-Runtime-Aws-Request-Id: case-1\r\n"), raw);
      assertTrue(raw.contains("\r\nLambda-Runtime-Deadline-Ms: " + (NOW.toEpochMilli() + 1000) + "\r\n"), raw);
      assertTrue(raw.contains("\r\nLambda-Runtime-Trace-Id: t\r\n"), raw);
      assertTrue(raw.endsWith("\r\n\r\nx"), raw);
    }
  }
}
