package dev.confaas.vendor.framework;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.image.Digest;
import dev.confaas.image.SigningKeys;
import dev.confaas.lambda.Context;
import dev.confaas.lambda.StringHandler;
import dev.confaas.vendor.ResolvedLayer;
import dev.confaas.vendor.VendorLayerRegistry;
import dev.confaas.vendor.framework.FrameworkLayers.BuiltLayer;
import dev.confaas.vendor.framework.FrameworkLayers.PublishedLayer;
import dev.confaas.vendor.framework.FrameworkLayers.Runtime;
import dev.confaas.vendor.framework.RuntimeApiServer.Posted;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds the framework layers, merges each with a function layer the way the agent does (the
 * framework layer below, the function's above), and runs the result chrooted as uid 65534 in its
 * own mount and PID namespaces against a Runtime API on 127.0.0.1.
 */
class FrameworkLayersTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path shared;
  @TempDir Path dir;

  private static FrameworkLayers layers;
  private static BuiltLayer shellLayer;
  private static BuiltLayer javaLayer;
  private static BuiltLayer providedLayer;

  private final List<Process> started = new ArrayList<>();

  @BeforeAll
  static void buildLayersOnce() throws IOException {
    // Shared with AwsLambdaRuntimesTest: one jlink per JDK and module list, not one per class.
    layers = FrameworkLayers.onThisHost(Path.of("target", "framework-cache"));
    long t0 = System.nanoTime();
    shellLayer = layers.build(Runtime.SHELL, shared.resolve("out"));
    long t1 = System.nanoTime();
    javaLayer = layers.build(Runtime.JAVA, shared.resolve("out"));
    long t2 = System.nanoTime();
    providedLayer = layers.build(Runtime.PROVIDED, shared.resolve("out"));
    long t3 = System.nanoTime();
    System.out.printf("built %s in %d ms%nbuilt %s in %d ms (jlink included unless cached)%n"
        + "built %s in %d ms%n",
        FrameworkLayers.describe(shellLayer), (t1 - t0) / 1_000_000,
        FrameworkLayers.describe(javaLayer), (t2 - t1) / 1_000_000,
        FrameworkLayers.describe(providedLayer), (t3 - t2) / 1_000_000);
  }

  @AfterEach
  void stopInstances() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  // --- reproducibility and publication ---------------------------------------------------------

  @Test
  void rebuildingGivesTheSameDigests() throws IOException {
    BuiltLayer shellAgain = layers.build(Runtime.SHELL, dir.resolve("again"));
    assertEquals(shellLayer.digest(), shellAgain.digest(), "shell layer is not reproducible");
    assertEquals(shellLayer.digest(), Digest.sha384(Files.readAllBytes(shellAgain.tar())),
        "the returned digest is not the SHA-384 of the tar written");
    // A fresh cache: jlink runs again, and must produce the same bytes.
    BuiltLayer javaAgain = FrameworkLayers.onThisHost(dir.resolve("fresh-cache"))
        .build(Runtime.JAVA, dir.resolve("again"));
    assertEquals(javaLayer.digest(), javaAgain.digest(), 
        "java layer is not reproducible across jlinks");
    BuiltLayer providedAgain = layers.build(Runtime.PROVIDED, dir.resolve("again"));
    assertEquals(providedLayer.digest(), providedAgain.digest(),
        "provided layer is not reproducible");
    assertEquals(javaLayer.digest(), layers.build(Runtime.JAVA_AWS, dir.resolve("aws")).digest(),
        "java and java-aws must share one layer");
  }

  @Test
  void publishedAliasesResolveToTheBuiltLayers() throws Exception {
    Clock clock = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
    SigningKeys vendor = SigningKeys.generate("confaas-vendor", clock);
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    BuiltLayer javaAws = new BuiltLayer(
        Runtime.JAVA_AWS, javaLayer.tar(), javaLayer.digest(), javaLayer.sizeBytes());
    List<PublishedLayer> published = FrameworkLayers.publish(registry, vendor.signer(), 1,
        List.of(shellLayer, javaLayer, javaAws, providedLayer));

    assertEquals(4, published.size());
    assertEquals(published.get(1).vendorImage(), published.get(2).vendorImage(),
        "java and java-aws share one layer, published once");
    assertEquals(3, published.stream().map(PublishedLayer::vendorImage).distinct().count(),
        "one vendor manifest per layer");
    for (PublishedLayer p : published) {
      BuiltLayer expected = switch (p.runtime()) {
        case SHELL -> shellLayer;
        case JAVA, JAVA_AWS -> javaLayer;
        case PROVIDED -> providedLayer;
      };
      assertEquals(expected.digest(), p.digest(), p.runtime() + " published a different layer");
      assertEquals("signer/" + vendor.signerId() + "/" + p.runtime().aliasName() + ":1",
          p.alias().toString());
      ResolvedLayer r = registry.resolver().resolve(p.alias());
      assertEquals(expected.digest(), r.digest().orElseThrow(() ->
          new AssertionError(p.alias() + " does not resolve: " + r.problem())));
      assertTrue(registry.layer(p.digest()).isPresent(), "layer blob missing from the registry");
    }
  }

  @Test
  void runtimesNameTheirEntrypoints() {
    assertEquals(List.of("/var/runtime/bootstrap"), Runtime.parse("shell").entrypoint());
    assertEquals("dev.confaas.lambda.Bootstrap", Runtime.parse("JAVA").entrypoint().get(5));
    assertEquals(Runtime.JAVA_AWS, Runtime.parse("java-aws"));
    assertEquals(Runtime.PROVIDED, Runtime.parse("provided"));
    assertEquals("confaas-java17", Runtime.JAVA_AWS.aliasName());
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> Runtime.parse("cobol"));
    assertTrue(e.getMessage().contains("shell, java, java-aws, provided"), e.getMessage());
  }

  // --- shell runtime -----------------------------------------------------------------------------

  @Test
  void shellHandlerUppercasesItsInput() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = shellFunction("upper", "#!/bin/sh\ntr a-z A-Z\n", 0755);
      start(root, Runtime.SHELL, "upper", api);
      api.enqueue("hello, td".getBytes(StandardCharsets.UTF_8));
      api.enqueue("second".getBytes(StandardCharsets.UTF_8));
      Posted first = api.awaitPosted();
      assertEquals("response", first.kind(), first.text());
      assertEquals("HELLO, TD", first.text());
      Posted second = api.awaitPosted();
      assertEquals("SECOND", second.text(), "the runtime did not loop to a second event");
    }
  }

  @Test
  void shellCarriesBinaryEventsAndNulFreeBinaryResponses() throws Exception {
    byte[] noNul = new byte[2 * 255];
    for (int i = 0; i < noNul.length; i++) {
      noNul[i] = (byte) (1 + i % 255);
    }
    byte[] all = new byte[256];
    for (int i = 0; i < all.length; i++) {
      all[i] = (byte) i;
    }
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      // Echoes, except that for the third event it counts the bytes it received.
      Path root = shellFunction("echo", "#!/bin/sh\n"
          + "case \"$LAMBDA_RUNTIME_AWS_REQUEST_ID\" in req-3) wc -c ;; *) cat ;; esac\n", 0755);
      start(root, Runtime.SHELL, "echo", api);
      api.enqueue(noNul);
      api.enqueue(all);
      api.enqueue(all);
      api.enqueue(new byte[0]);

      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      assertArrayEquals(noNul, p.body(), "bytes 1..255 (twice) did not round-trip unchanged");
      Posted nul = api.awaitPosted();
      assertEquals("error", nul.kind(), "a response with NUL must not be sent truncated");
      assertEquals("Runtime.ResponseContainsNul",
          JSON.readTree(nul.body()).path("errorType").asText());
      Posted counted = api.awaitPosted();
      assertEquals("256", counted.text().trim(), "the event with NUL did not arrive whole");
      Posted empty = api.awaitPosted();
      assertEquals("response", empty.kind(), empty.text());
      assertEquals(0, empty.body().length, "an empty event should give an empty response");
    }
  }

  @Test
  void shellHandlerFailureIsPostedAsAnError() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = shellFunction("fail",
          "#!/bin/sh\necho 'parsing \"order\"\\tfailed' >&2\necho 'bad input' >&2\nexit 3\n", 0755);
      start(root, Runtime.SHELL, "fail", api);
      api.enqueue("x".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("error", p.kind(), p.text());
      assertEquals("HandlerError", p.errorTypeHeader());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("HandlerError", doc.path("errorType").asText());
      assertEquals(3, doc.path("exitStatus").asInt(-1), "the handler's exit status: " + doc);
      String message = doc.path("errorMessage").asText();
      assertTrue(message.contains("status 3") && message.contains("parsing \"order\"")
          && message.endsWith("bad input"), "message lacks status or stderr tail: " + message);
      // still serving
      api.enqueue("y".getBytes(StandardCharsets.UTF_8));
      assertEquals("error", api.awaitPosted().kind());
    }
  }

  @Test
  void missingShellHandlerIsAnInitError() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = shellFunction("present", "#!/bin/sh\ncat\n", 0755);
      start(root, Runtime.SHELL, "absent", api);
      Posted p = api.awaitPosted();
      assertEquals("init-error", p.kind(), p.text());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("Runtime.HandlerNotFound", doc.path("errorType").asText());
      assertTrue(doc.path("errorMessage").asText().contains("/var/task/absent"), p.text());
    }
  }

  @Test
  void nonExecutableShellHandlerIsAnInitError() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = shellFunction("plain", "#!/bin/sh\ncat\n", 0644);
      start(root, Runtime.SHELL, "plain", api);
      Posted p = api.awaitPosted();
      assertEquals("init-error", p.kind(), p.text());
      assertEquals("Runtime.HandlerNotExecutable", JSON.readTree(p.body()).path("errorType").asText());
    }
  }

  // --- java runtime ------------------------------------------------------------------------------

  /** A Java function, as an author writes it. */
  public static final class Upper implements StringHandler {
    @Override
    public String handleText(String event, Context context) {
      return event.toUpperCase(java.util.Locale.ROOT) + " " + context.awsRequestId();
    }
  }

  /** A Java function that fails. */
  public static final class Throwing implements StringHandler {
    @Override
    public String handleText(String event, Context context) {
      throw new IllegalStateException("no stock for " + event);
    }
  }

  @Test
  void javaHandlerUppercasesItsInput() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = javaFunction(Upper.class);
      start(root, Runtime.JAVA, Upper.class.getName(), api);
      api.enqueue("hello, td".getBytes(StandardCharsets.UTF_8));
      api.enqueue("again".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      assertEquals("HELLO, TD " + p.requestId(), p.text());
      Posted q = api.awaitPosted();
      assertEquals("AGAIN " + q.requestId(), q.text(), "the runtime did not loop");
    }
  }

  @Test
  void throwingJavaHandlerReportsTheExceptionClass() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = javaFunction(Throwing.class);
      start(root, Runtime.JAVA, Throwing.class.getName(), api);
      api.enqueue("widgets".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("error", p.kind(), p.text());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("java.lang.IllegalStateException", doc.path("errorType").asText());
      assertEquals("java.lang.IllegalStateException", p.errorTypeHeader());
      assertEquals("no stock for widgets", doc.path("errorMessage").asText());
      assertTrue(doc.path("stackTrace").get(0).asText().contains("Throwing.handleText"), p.text());
    }
  }

  @Test
  void missingJavaHandlerClassIsAnInitError() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = javaFunction(Upper.class);
      start(root, Runtime.JAVA, "com.example.Missing", api);
      Posted p = api.awaitPosted();
      assertEquals("init-error", p.kind(), p.text());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("Runtime.HandlerNotFound", doc.path("errorType").asText());
      assertTrue(doc.path("errorMessage").asText().contains("com.example.Missing"), p.text());
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** The shell layer with a function layer holding {@code /var/task/NAME} on top. */
  private Path shellFunction(String name, String script, int mode) throws IOException {
    Path fn = dir.resolve("fn");
    Files.createDirectories(fn.resolve("var/task"));
    Path handler = fn.resolve("var/task").resolve(name);
    Files.writeString(handler, script);
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString(
        mode == 0755 ? "rwxr-xr-x" : "rw-r--r--"));
    return merged(shellLayer, fn);
  }

  /** The Java layer with a function layer holding {@code handler}'s class file in /var/task. */
  private Path javaFunction(Class<?> handler) throws IOException {
    Path fn = dir.resolve("fn");
    String file = handler.getName().replace('.', '/') + ".class";
    Path target = fn.resolve("var/task").resolve(file);
    Files.createDirectories(target.getParent());
    try (var in = handler.getClassLoader().getResourceAsStream(file)) {
      Files.write(target, in.readAllBytes());
    }
    return merged(javaLayer, fn);
  }

  private Path merged(BuiltLayer framework, Path functionDir) throws IOException {
    return LayerInstances.merged(dir, framework, functionDir);
  }

  private void start(Path root, Runtime runtime, String handler, RuntimeApiServer api)
      throws IOException {
    started.add(LayerInstances.start(root, runtime.entrypoint(), handler, api,
        dir.resolve("instance.log")));
  }
}
