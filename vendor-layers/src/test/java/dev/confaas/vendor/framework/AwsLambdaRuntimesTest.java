package dev.confaas.vendor.framework;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.image.LayerUnpacker;
import dev.confaas.vendor.framework.FrameworkLayers.BuiltLayer;
import dev.confaas.vendor.framework.FrameworkLayers.Runtime;
import dev.confaas.vendor.framework.RuntimeApiServer.Posted;
import dev.confaas.vendor.framework.awsfunctions.Greeter;
import dev.confaas.vendor.framework.awsfunctions.OrderFailure;
import dev.confaas.vendor.framework.awsfunctions.OrdinaryLibraries;
import dev.confaas.vendor.framework.awsfunctions.Reverser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AWS's own code on the vendor layers, unchanged: AWS's Lambda Java runtime interface client
 * (from Maven Central, in the Java layer) running handlers written against aws-lambda-java-core,
 * and the bash runtime of AWS's custom runtime tutorial on the provided layer's bash and curl.
 * Each runs chrooted into the merged layers as the agent runs it ({@link LayerInstances}),
 * against a Runtime API on 127.0.0.1.
 */
class AwsLambdaRuntimesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path shared;
  @TempDir Path dir;

  private static BuiltLayer javaLayer;
  private static BuiltLayer providedLayer;

  private final List<Process> started = new ArrayList<>();

  @BeforeAll
  static void buildLayers() throws IOException {
    FrameworkLayers layers = FrameworkLayers.onThisHost(Path.of("target", "framework-cache"));
    javaLayer = layers.build(Runtime.JAVA_AWS, shared.resolve("out"));
    providedLayer = layers.build(Runtime.PROVIDED, shared.resolve("out"));
    System.out.printf("built %s%nbuilt %s%n", FrameworkLayers.describe(javaLayer),
        FrameworkLayers.describe(providedLayer));
  }

  @AfterEach
  void stopInstances() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    Path log = dir.resolve("instance.log");
    if (Files.exists(log)) { // what the runtime printed, for a failing assertion's reader
      System.out.println("--- instance output ---\n" + Files.readString(log));
    }
  }

  // --- the Java layer's contents -----------------------------------------------------------------

  @Test
  void javaLayerCarriesAwsClientAndTheLibrariesItsJniLibraryLinks() throws IOException {
    Path root = dir.resolve("java-root");
    Files.createDirectories(root);
    LayerUnpacker.unpack(javaLayer.tar(), root);
    List<String> jars;
    try (var s = Files.list(root.resolve("var/runtime/lib"))) {
      jars = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertTrue(jars.stream().anyMatch(j -> j.startsWith("aws-lambda-java-runtime-interface-client-2.")),
        "no AWS runtime interface client 2.x in /var/runtime/lib: " + jars);
    assertTrue(jars.stream().anyMatch(j -> j.startsWith("aws-lambda-java-core-")), jars.toString());
    assertTrue(jars.stream().anyMatch(j -> j.startsWith("aws-lambda-java-serialization-")),
        jars.toString());
    List<String> files;
    try (var s = Files.walk(root)) {
      files = s.map(p -> p.getFileName().toString()).toList();
    }
    for (String lib : FrameworkLayers.JNI_HOST_LIBRARIES) {
      assertTrue(files.contains(lib), lib + " is missing from the Java layer");
    }
    assertTrue(Files.isExecutable(root.resolve("var/runtime/bootstrap")));
    assertTrue(Files.exists(root.resolve("bin/sh"), LinkOption.NOFOLLOW_LINKS),
        "the java-aws bootstrap needs /bin/sh");
    String release = Files.readString(root.resolve("opt/java/release"));
    for (String module : List.of("jdk.unsupported", "java.sql", "java.xml", "java.desktop",
        "java.management", "java.naming", "java.instrument", "java.scripting",
        "jdk.crypto.cryptoki", "jdk.zipfs", "java.security.jgss")) {
      assertTrue(release.contains(module), "the JRE lacks " + module + ": " + release);
    }
  }

  // --- AWS's Java runtime interface client ---------------------------------------------------------

  @Test
  void awsRequestHandlerInAJarAtTheTaskRootAnswers() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path fn = dir.resolve("fn");
      // Where `confaas deploy --jar` puts the function's jar.
      writeJar(fn.resolve("var/task/greeter.jar"), Greeter.class);
      start(LayerInstances.merged(dir, javaLayer, fn), Runtime.JAVA_AWS,
          Greeter.class.getName() + "::handleRequest", api);
      api.enqueue("{\"name\":\"td\"}".getBytes(StandardCharsets.UTF_8));
      api.enqueue("{\"name\":\"again\"}".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      assertEquals("hello td from test (" + p.requestId() + ", 256 MB)",
          JSON.readTree(p.body()).asText(), p.text());
      Posted q = api.awaitPosted();
      assertEquals("\"hello again from test (" + q.requestId() + ", 256 MB)\"", q.text(),
          "the client did not loop to a second event");
    }
  }

  @Test
  void awsRequestStreamHandlerInLibCarriesEveryByte() throws Exception {
    byte[] event = new byte[256];
    for (int i = 0; i < event.length; i++) {
      event[i] = (byte) i;
    }
    byte[] reversed = new byte[256];
    for (int i = 0; i < event.length; i++) {
      reversed[i] = event[event.length - 1 - i];
    }
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path fn = dir.resolve("fn");
      // An AWS deployment package's layout: the function's jars in lib/.
      writeJar(fn.resolve("var/task/lib/reverser.jar"), Reverser.class);
      start(LayerInstances.merged(dir, javaLayer, fn), Runtime.JAVA_AWS,
          Reverser.class.getName(), api);
      api.enqueue(event);
      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      assertArrayEquals(reversed, p.body(), "the stream handler's bytes did not arrive unchanged");
    }
  }

  @Test
  void thrownExceptionReachesErrorWithItsClassAndStackTrace() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path fn = dir.resolve("fn");
      writeClasses(fn.resolve("var/task"), OrderFailure.class); // an unpacked deployment zip
      start(LayerInstances.merged(dir, javaLayer, fn), Runtime.JAVA_AWS,
          OrderFailure.class.getName() + "::handleRequest", api);
      api.enqueue("{\"order\":\"o-17\"}".getBytes(StandardCharsets.UTF_8));
      api.enqueue("{\"order\":\"o-18\"}".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("error", p.kind(), p.text());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("java.lang.IllegalStateException", doc.path("errorType").asText(), p.text());
      // AWS's client puts its own category in the header and the exception's class in the body.
      assertEquals("Runtime.UserException", p.errorTypeHeader());
      assertEquals("no stock for order o-17", doc.path("errorMessage").asText(), p.text());
      JsonNode trace = doc.path("stackTrace");
      assertTrue(trace.isArray() && trace.size() > 0, "no stack trace: " + p.text());
      assertTrue(trace.get(0).asText().contains("OrderFailure.reserve"), p.text());
      Posted q = api.awaitPosted();
      assertEquals("error", q.kind(), "the client did not go on after a thrown exception");
      assertTrue(q.text().contains("o-18"), q.text());
    }
  }

  @Test
  void ordinaryJavaLibrariesFindWhatTheyNeedInTheJre() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path fn = dir.resolve("fn");
      writeJar(fn.resolve("var/task/lib/ordinary.jar"), OrdinaryLibraries.class,
          Class.forName(OrdinaryLibraries.class.getName() + "$Attempt"));
      start(LayerInstances.merged(dir, javaLayer, fn), Runtime.JAVA_AWS,
          OrdinaryLibraries.class.getName() + "::handleRequest", api);
      api.enqueue("{}".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      JsonNode r = JSON.readTree(p.body());
      assertEquals("orderId", r.path("beans").asText(), p.text());
      assertEquals("2026-11-22 07:00:00.0", r.path("sql").asText(), p.text());
      assertEquals("x", r.path("xml").asText(), p.text());
      assertEquals("true/true", r.path("imageio").asText(), p.text());
      assertEquals("1", r.path("management").asText(), p.text());
      assertEquals("sun.misc.Unsafe", r.path("unsafe").asText(), p.text());
      assertEquals("Januar", r.path("locale").asText(), "no German locale data: " + p.text());
      assertEquals("true", r.path("charset").asText(), p.text());
      assertEquals("L32X64MixRandom", r.path("random").asText(), p.text());
      assertEquals("ScriptEngineManager", r.path("scripting").asText(), p.text());
      assertEquals("Context", r.path("naming").asText(), p.text());
      assertEquals("1", r.path("zipfs").asText(), p.text());
      assertEquals("42", r.path("shell").asText(), p.text());
    }
  }

  @Test
  void missingAwsHandlerClassFailsEachInvocationAsOnAws() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path fn = dir.resolve("fn");
      writeJar(fn.resolve("var/task/greeter.jar"), Greeter.class);
      start(LayerInstances.merged(dir, javaLayer, fn), Runtime.JAVA_AWS,
          "com.example.Missing::handleRequest", api);
      // AWS's client reports a class it cannot find on each invocation, not at init.
      api.enqueue("{}".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("error", p.kind(), p.text());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("java.lang.ClassNotFoundException", doc.path("errorType").asText(), p.text());
      assertTrue(doc.path("errorMessage").asText().contains("com.example.Missing"), p.text());
    }
  }

  // --- the provided layer: AWS's custom runtime tutorial, unchanged ----------------------------------

  @Test
  void tutorialBashRuntimeAnswersThroughBashAndCurl() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = tutorialFunction(true);
      start(root, Runtime.PROVIDED, "function.handler", api);
      api.enqueue("{\"key1\":\"value1\",\"key2\":\"value2\"}".getBytes(StandardCharsets.UTF_8));
      api.enqueue("second".getBytes(StandardCharsets.UTF_8));
      Posted p = api.awaitPosted();
      assertEquals("response", p.kind(), p.text());
      assertEquals("Echoing request: '{\"key1\":\"value1\",\"key2\":\"value2\"}'", p.text());
      Posted q = api.awaitPosted();
      assertEquals("Echoing request: 'second'", q.text(), "the bootstrap did not loop");
      assertEquals("req-2", q.requestId());
    }
  }

  @Test
  void providedWithoutABootstrapIsAnInitError() throws Exception {
    try (RuntimeApiServer api = new RuntimeApiServer()) {
      Path root = tutorialFunction(false);
      start(root, Runtime.PROVIDED, "function.handler", api);
      Posted p = api.awaitPosted();
      assertEquals("init-error", p.kind(), p.text());
      assertEquals("Runtime.InvalidEntrypoint", p.errorTypeHeader());
      JsonNode doc = JSON.readTree(p.body());
      assertEquals("Runtime.InvalidEntrypoint", doc.path("errorType").asText());
      assertTrue(doc.path("errorMessage").asText().contains("/var/task/bootstrap"), p.text());
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** The tutorial's function.zip as a layer: bootstrap (if asked) and function.sh, both 0755. */
  private Path tutorialFunction(boolean withBootstrap) throws IOException {
    Path task = Files.createDirectories(dir.resolve("fn/var/task"));
    for (String name : withBootstrap ? List.of("bootstrap", "function.sh") : List.of("function.sh")) {
      Path f = task.resolve(name);
      try (InputStream in = getClass().getResourceAsStream("tutorial/" + name)) {
        Files.write(f, in.readAllBytes());
      }
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    return LayerInstances.merged(dir, providedLayer, dir.resolve("fn"));
  }

  private void start(Path root, Runtime runtime, String handler, RuntimeApiServer api)
      throws IOException {
    started.add(LayerInstances.start(root, runtime.entrypoint(), handler, api,
        dir.resolve("instance.log")));
  }

  private static void writeJar(Path jar, Class<?>... classes) throws IOException {
    Files.createDirectories(jar.getParent());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      for (Class<?> c : classes) {
        String file = c.getName().replace('.', '/') + ".class";
        out.putNextEntry(new JarEntry(file));
        out.write(classBytes(c, file));
        out.closeEntry();
      }
    }
  }

  private static void writeClasses(Path dir, Class<?>... classes) throws IOException {
    for (Class<?> c : classes) {
      String file = c.getName().replace('.', '/') + ".class";
      Path target = dir.resolve(file);
      Files.createDirectories(target.getParent());
      Files.write(target, classBytes(c, file));
    }
  }

  private static byte[] classBytes(Class<?> c, String file) throws IOException {
    try (InputStream in = c.getClassLoader().getResourceAsStream(file)) {
      return in.readAllBytes();
    }
  }
}
