package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.cli.awsfunctions.Greeting;
import dev.confaas.cli.awsfunctions.Reverse;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Existing Lambda functions, deployed with the CLI onto the whole platform ({@code confaas up}'s
 * {@link Platform}: real agent processes, simulated TDX, the vendor layers it publishes) and
 * invoked over HTTP: handlers written against AWS's {@code aws-lambda-java-core} run by AWS's
 * runtime interface client ({@code --runtime java-aws}), and the bash runtime of AWS's custom
 * runtime tutorial, its files as AWS publishes them ({@code --runtime provided}).
 */
class LambdaRuntimesCliTest {
  /** AWS's tutorial files, kept as the tutorial has them in vendor-layers' test resources. */
  static final Path TUTORIAL =
      Path.of("..", "vendor-layers/src/test/resources/dev/confaas/vendor/framework/tutorial");

  @TempDir static Path data;
  @TempDir static Path work;
  static Platform platform;
  static String url;
  static String token;
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void up() throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "1", "pool.max", "4",
        "pool.bootsInFlight", "1", "pool.healthInterval", "5s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
    url = platform.gatewayUrl().toString();
    token = platform.adminToken();
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  /** A jar holding just {@code handler}'s class file, as an author's build would make it. */
  static Path jarOf(Class<?> handler) throws IOException {
    Path jar = work.resolve(handler.getSimpleName().toLowerCase(java.util.Locale.ROOT) + ".jar");
    String file = handler.getName().replace('.', '/') + ".class";
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        InputStream in = handler.getClassLoader().getResourceAsStream(file)) {
      out.putNextEntry(new JarEntry(file));
      out.write(in.readAllBytes());
      out.closeEntry();
    }
    return jar;
  }

  static CliRun deploy(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of(args));
    all.addAll(List.of("--url", url, "--token", token,
        "--data-dir", work.resolve("author").toString()));
    CliRun r = CliRun.of(all.toArray(String[]::new));
    assertEquals(0, r.code, r.toString());
    return r;
  }

  static HttpResponse<byte[]> invoke(String function, byte[] event) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/functions/" + function + "/invoke"))
            .timeout(Duration.ofMinutes(3))
            .POST(HttpRequest.BodyPublishers.ofByteArray(event)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void theRuntimesAreOfferedUnderTheNamesDeployTakes() throws Exception {
    JsonObject offered = new JsonObject(text(HTTP.send(
        HttpRequest.newBuilder(URI.create(url + "/v1/runtimes"))
            .header("Authorization", "Bearer " + token).build(),
        HttpResponse.BodyHandlers.ofByteArray())));
    assertEquals(List.of("java", "java-aws", "provided", "shell"),
        new java.util.TreeSet<>(offered.fieldNames()).stream().toList(), offered.encode());
    // As Lambda: AWS_Lambda_java17 for both Java runtimes, unset for OS-only ones.
    for (String java : List.of("java", "java-aws")) {
      assertTrue(offered.getJsonObject(java).getJsonArray("env").contains(
          "AWS_EXECUTION_ENV=AWS_Lambda_java17"), offered.encode());
    }
    for (String osOnly : List.of("provided", "shell")) {
      assertFalse(offered.getJsonObject(osOnly).getJsonArray("env").stream()
          .anyMatch(e -> ((String) e).startsWith("AWS_EXECUTION_ENV")), offered.encode());
    }

    CliRun list = CliRun.of("runtimes", "--url", url, "--token", token);
    assertEquals(0, list.code, list.toString());
    assertTrue(list.out.contains("java-aws: com.amazonaws:aws-lambda-java-core:1."), list.out);
    // The jar in a built CLI; here, under Maven, the java-runtime module's class directory.
    String api = dev.confaas.vendor.framework.FrameworkLayers.javaRuntimeApiLocation().toString();
    assertTrue(list.out.lines().anyMatch(l -> l.startsWith("  java:     dev.confaas.lambda")
        && l.contains(api)), list.out);
    assertTrue(list.out.lines().anyMatch(l -> l.startsWith("provided   --bootstrap FILE")),
        list.out);
  }

  @Test
  void awsRequestHandlerAndStreamHandlerRunUnchanged() throws Exception {
    deploy("deploy", "--name", "greeter", "--runtime", "java-aws", "--memory-mb", "256",
        "--handler", Greeting.class.getName() + "::handleRequest",
        "--jar", jarOf(Greeting.class).toString());
    CliRun hello = CliRun.of("invoke", "greeter", "--data", "{\"name\":\"td\"}", "--url", url);
    assertEquals(0, hello.code, hello.toString());
    assertEquals("\"hello td from greeter (256 MB, AWS_Lambda_java17)\"", hello.out.strip(),
        "AWS's client serializes the handler's String result as JSON");

    // A RequestStreamHandler named by class alone, its jar in lib/ as in AWS deployment packages.
    deploy("deploy", "--name", "reverse", "--runtime", "java-aws",
        "--handler", Reverse.class.getName(), "--lib", jarOf(Reverse.class).toString());
    byte[] event = new byte[256];
    byte[] reversed = new byte[256];
    for (int i = 0; i < 256; i++) {
      event[i] = (byte) i;
      reversed[255 - i] = (byte) i;
    }
    HttpResponse<byte[]> r = invoke("reverse", event);
    assertEquals(200, r.statusCode(), text(r));
    assertArrayEquals(reversed, r.body(), "every byte value, in and out");
  }

  @Test
  void aThrownJavaExceptionReachesTheCallerWithItsClassAndStackTrace() throws Exception {
    deploy("deploy", "--name", "thrower", "--runtime", "java-aws",
        "--handler", Greeting.class.getName() + "::handleRequest",
        "--jar", jarOf(Greeting.class).toString());
    HttpResponse<byte[]> r = invoke("thrower", "{\"fail\":\"nobody\"}".getBytes(StandardCharsets.UTF_8));
    assertTrue(r.statusCode() >= 400, r.statusCode() + " " + text(r));
    assertEquals("application/problem+json",
        r.headers().firstValue("Content-Type").orElse("").split(";")[0], text(r));
    JsonObject error = new JsonObject(text(r)).getJsonObject("functionError");
    assertEquals("java.lang.IllegalStateException", error.getString("errorType"), text(r));
    assertEquals("cannot greet nobody", error.getString("errorMessage"), text(r));
    JsonArray stack = error.getJsonArray("stackTrace");
    assertTrue(stack != null && stack.stream().anyMatch(
        f -> ((String) f).contains(Greeting.class.getName() + ".handleRequest")), text(r));

    CliRun cli = CliRun.of("invoke", "thrower", "--data", "{\"fail\":\"again\"}", "--url", url);
    assertEquals(1, cli.code, cli.toString());
    assertTrue(cli.err.contains("java.lang.IllegalStateException"), cli.toString());
  }

  @Test
  void theAwsTutorialsBashRuntimeAnswersUnchanged() throws Exception {
    CliRun noBootstrap = CliRun.of("deploy", "--name", "tutorial", "--runtime", "provided",
        "--handler", "function.handler", "--file", TUTORIAL.resolve("function.sh").toString(),
        "--url", url, "--token", token, "--data-dir", work.resolve("author").toString());
    assertEquals(1, noBootstrap.code, noBootstrap.toString());
    assertTrue(noBootstrap.err.contains("--runtime provided needs --bootstrap FILE"),
        noBootstrap.toString());

    deploy("deploy", "--name", "tutorial", "--runtime", "provided",
        "--bootstrap", TUTORIAL.resolve("bootstrap").toString(), "--handler", "function.handler",
        "--file", TUTORIAL.resolve("function.sh").toString());
    HttpResponse<byte[]> r = invoke("tutorial", "{\"a\":1}".getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), text(r));
    assertEquals("Echoing request: '{\"a\":1}'", text(r).strip());
  }
}
