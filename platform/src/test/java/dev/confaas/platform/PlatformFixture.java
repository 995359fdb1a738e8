package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.confaas.gateway.DeployBundle;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A whole platform as {@code confaas up} starts it, and a plain {@link HttpClient} speaking to its
 * gateway: what a user has, nothing more.
 */
final class PlatformFixture implements AutoCloseable {
  /**
   * Free ports; two idle TDs, up to five, health checks (and so re-attestation) every two seconds.
   * Given as flags, so no CONFAAS_* variable of the machine running the tests changes them.
   */
  static final Map<String, String> SETTINGS = Map.of(
      "gateway.port", "0",
      "kafka.port", "0",
      "pool.size", "2",
      "pool.max", "5",
      "pool.healthInterval", "2s",
      "pool.drainTimeout", "10s");

  static {
    // Kafka's INFO logging would drown the test output.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
  }

  final Path data;
  final Platform platform;
  final URI url;
  final String token;
  /** What the platform said while it started, line by line. */
  final List<String> progress;
  private final Duration httpTimeout;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private PlatformFixture(Path data, Platform platform, List<String> progress, Duration httpTimeout) {
    this.data = data;
    this.platform = platform;
    this.url = platform.gatewayUrl();
    this.token = platform.adminToken();
    this.progress = progress;
    this.httpTimeout = httpTimeout;
  }

  static PlatformFixture start(Path data) throws IOException {
    return start(data, SETTINGS, Duration.ofSeconds(90), Duration.ofSeconds(90));
  }

  /**
   * A platform with {@code settings} (flags), ready once a TD is attested within {@code
   * readyLimit}; its HTTP calls wait {@code httpTimeout} for an answer.
   */
  static PlatformFixture start(
      Path data, Map<String, String> settings, Duration readyLimit, Duration httpTimeout)
      throws IOException {
    List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
    Consumer<String> progress = line -> {
      said.add(line);
      System.out.println("[platform] " + line);
    };
    Platform p = Platform.start(Settings.load(data, Map.of(), settings), progress);
    PlatformFixture f = new PlatformFixture(data, p, said, httpTimeout);
    try {
      f.await("the warm pool to hold an attested TD", readyLimit, p::ready);
    } catch (AssertionError e) {
      p.close();
      throw e;
    }
    return f;
  }

  @Override
  public void close() {
    platform.close();
  }

  // --- HTTP --------------------------------------------------------------------------------------

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(url.resolve(path))
        .timeout(httpTimeout)
        .header("Authorization", "Bearer " + token);
  }

  HttpResponse<String> send(HttpRequest r) {
    try {
      return client.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("HTTP " + r.method() + " " + r.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> get(String path) {
    return send(request(path).GET().build());
  }

  HttpResponse<String> post(String path, String body) {
    return send(request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  /** {@code curl -X POST $URL/v1/functions/NAME/invoke -d EVENT}, without a token. */
  HttpResponse<String> invokeAnonymously(String function, String event) {
    return send(
        HttpRequest.newBuilder(url.resolve("/v1/functions/" + function + "/invoke"))
            .timeout(httpTimeout)
            .POST(HttpRequest.BodyPublishers.ofString(event))
            .build());
  }

  HttpResponse<String> invoke(String function, String event) {
    return post("/v1/functions/" + function + "/invoke", event);
  }

  /** Invokes and insists on a 200; returns the response. */
  HttpResponse<String> invokeOk(String function, String event) {
    HttpResponse<String> r = invoke(function, event);
    assertEquals(200, r.statusCode(), () -> function + " did not answer: " + r.body());
    return r;
  }

  static String tdOf(HttpResponse<String> r) {
    return r.headers().firstValue("X-Confaas-Td-Id").orElseThrow(
        () -> new AssertionError("no X-Confaas-Td-Id header in " + r.headers().map()));
  }

  static String imageOf(HttpResponse<String> r) {
    return r.headers().firstValue("X-Confaas-Image-Id").orElseThrow(
        () -> new AssertionError("no X-Confaas-Image-Id header in " + r.headers().map()));
  }

  /** {@code GET /v1/tds}: each TD as JSON. */
  List<JsonObject> tds() {
    HttpResponse<String> r = get("/v1/tds");
    assertEquals(200, r.statusCode(), r.body());
    Object parsed = io.vertx.core.json.Json.decodeValue(r.body());
    JsonArray a = parsed instanceof JsonArray arr ? arr : ((JsonObject) parsed).getJsonArray("tds");
    return a.stream().map(JsonObject.class::cast).toList();
  }

  JsonObject td(String id) {
    return tds().stream()
        .filter(t -> t.getString("id").equals(id))
        .findFirst()
        .orElseThrow(() -> new AssertionError("TD " + id + " not in /v1/tds: " + tds()));
  }

  // --- deploying ---------------------------------------------------------------------------------

  /** The platform's shell runtime, as {@code GET /v1/runtimes} describes it. */
  JsonObject shellRuntime() {
    HttpResponse<String> r = get("/v1/runtimes");
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body()).getJsonObject("shell");
  }

  /** The vendor's framework-layer alias the shell runtime names. */
  AliasRef shellAlias() {
    return AliasRef.parse(shellRuntime().getString("layer"));
  }

  /**
   * Builds a shell function ({@code handler.sh} reads the event on stdin and prints the
   * response), lets {@code policy} add launch-policy rules, signs it as {@code author} and deploys
   * it over HTTP.
   */
  String deployShell(
      Path work,
      String name,
      SigningKeys author,
      String script,
      Consumer<Manifest.Builder> policy,
      String config)
      throws IOException {
    Path tree = Files.createTempDirectory(work, name);
    Path handler = tree.resolve("handler.sh");
    Files.writeString(handler, "#!/bin/sh\n" + script + "\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path tar = work.resolve(name + ".tar");
    Digest layer = LayerTar.write(tree, "var/task/", tar);
    JsonObject shell = shellRuntime();
    Manifest.Builder m =
        Manifest.builder()
            .addLayer(AliasRef.parse(shell.getString("layer")))
            .addLayer(layer)
            .entrypoint(shell.getJsonArray("entrypoint").stream().map(String::valueOf).toList()
                .toArray(String[]::new))
            .workingDir("/var/task");
    shell.getJsonArray("env").forEach(e -> m.addEnv(String.valueOf(e)));
    m.addEnv("_HANDLER=handler.sh");
    policy.accept(m);
    SignedManifest signed = author.signer().signed(m.build());
    DeployBundle bundle =
        new DeployBundle()
            .config(config == null ? new JsonObject().put("name", name).encode() : config)
            .manifest(signed.manifest().bytes())
            .signature(signed.signature())
            .certificate(signed.certificateDer())
            .layer(layer, tar);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    bundle.writeTo(out);
    HttpResponse<String> r =
        send(
            request("/v1/functions")
                .header("Content-Type", bundle.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()))
                .build());
    if (r.statusCode() / 100 != 2) {
      fail("deploying " + name + " answered " + r.statusCode() + ": " + r.body());
    }
    return name;
  }

  // --- waiting -----------------------------------------------------------------------------------

  /** Polls {@code condition} until it holds; fails naming {@code what} after {@code limit}. */
  void await(String what, Duration limit, BooleanSupplier condition) {
    long end = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        fail("timed out after " + limit + " waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
