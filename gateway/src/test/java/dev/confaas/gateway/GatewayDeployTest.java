package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.scheduler.DeployedFunction;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deploying real signed images over HTTP into the function registry. */
class GatewayDeployTest {
  static final String CONFIG = "{\"name\":\"hello\",\"concurrency\":4,\"timeoutMs\":5000}";

  @TempDir Path data;
  @TempDir Path work;
  TestInvoker invoker = new TestInvoker();
  FunctionRegistry registry;
  Gateway gateway;
  Http http;
  String vendorImage;

  @BeforeEach
  void start() throws Exception {
    registry = FunctionRegistry.open(data, Images.CLOCK);
    vendorImage = Images.publishShellRuntime(registry.vendorLayers(), work);
    gateway = startGateway(registry);
    http = new Http(gateway.url(), gateway.adminToken());
  }

  Gateway startGateway(FunctionRegistry r) throws IOException {
    Gateway g = new Gateway(GatewayConfig.builder(data).clock(Images.CLOCK).build(), invoker, r,
        new InMemoryAsyncInvocations(invoker, Images.CLOCK, Duration.ofHours(1),
            Duration.ofMinutes(1)),
        TdDirectory.NONE, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    g.start();
    return g;
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  HttpResponse<String> deploy(Images.Function f, boolean withLayer) {
    return http.deploy(Images.bundle(f, CONFIG, withLayer));
  }

  @Test
  void deployStoresAVersionWithItsVendorDependency() throws Exception {
    Images.Function f = Images.function(work, "echo hi\n", Images.shellAlias());
    HttpResponse<String> r = deploy(f, true);
    assertEquals(201, r.statusCode(), r.body());
    JsonObject body = new JsonObject(r.body());
    assertEquals(1, body.getInteger("version"));
    assertEquals(f.signed().imageId().toString(), body.getString("imageId"));
    assertEquals(new JsonArray().add(vendorImage), body.getJsonArray("dependencies"));
    assertEquals("/v1/functions/hello", r.headers().firstValue("Location").orElse(null));

    DeployedFunction fn = registry.resolve("hello", null).orElseThrow();
    assertEquals(List.of(vendorImage), fn.dependencies());
    assertEquals(4, fn.concurrency());
    assertEquals(Duration.ofSeconds(5), fn.timeout());
    assertTrue(registry.images().hasImage(f.signed().imageId()), "the image is stored");
    assertTrue(registry.images().hasBlob(f.layer()), "the function layer is stored");

    JsonObject got = new JsonObject(http.get("/v1/functions/hello").body());
    assertEquals(1, got.getJsonObject("aliases").getInteger("latest"));
    assertEquals(f.signed().imageId().toString(),
        got.getJsonArray("versions").getJsonObject(0).getString("imageId"));
    assertEquals(Images.CLOCK.instant().toString(),
        got.getJsonArray("versions").getJsonObject(0).getString("deployedAt"));
  }

  @Test
  void redeployAddsAVersionAndMovesLatest() throws Exception {
    Images.Function v1 = Images.function(work, "echo one\n", Images.shellAlias());
    Images.Function v2 = Images.function(work, "echo two\n", Images.shellAlias());
    assertEquals(201, deploy(v1, true).statusCode());
    HttpResponse<String> r2 = deploy(v2, true);
    assertEquals(201, r2.statusCode(), r2.body());
    assertEquals(2, new JsonObject(r2.body()).getInteger("version"));

    assertEquals(v2.signed().imageId().toString(),
        registry.resolve("hello", "latest").orElseThrow().imageId());
    assertEquals(v1.signed().imageId().toString(),
        registry.resolve("hello", "1").orElseThrow().imageId());
    assertTrue(registry.resolve("hello", "3").isEmpty());

    HttpResponse<String> alias = http.send(http.request("/v1/functions/hello/aliases/prod")
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"version\":1}")).build());
    assertEquals(200, alias.statusCode(), alias.body());
    assertEquals(v1.signed().imageId().toString(),
        registry.resolve("hello", "prod").orElseThrow().imageId());
    ProblemAssertions.assertProblem(putAlias("{\"version\":"), 400, "INVALID_JSON");
    ProblemAssertions.assertProblem(putAlias("{\"v\":1}"), 400, "INVALID_ALIAS");
    JsonObject noVersion = ProblemAssertions.assertProblem(putAlias("{\"version\":9}"), 404,
        "NOT_FOUND");
    assertTrue(noVersion.getString("detail").contains("9"), noVersion.encode());

    // Layers already stored need not be sent again.
    Images.Function v3 = Images.function(work, "echo one\n", Images.shellAlias());
    HttpResponse<String> r3 = deploy(v3, false);
    assertEquals(201, r3.statusCode(), r3.body());
  }

  HttpResponse<String> putAlias(String body) {
    return http.send(http.request("/v1/functions/hello/aliases/prod")
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build());
  }

  /** Each refusal leaves version 1 as it was. */
  void assertOnlyVersionOne(Images.Function v1) {
    JsonObject got = new JsonObject(http.get("/v1/functions/hello").body());
    assertEquals(1, got.getJsonArray("versions").size(), got.encode());
    assertEquals(1, got.getJsonObject("aliases").getInteger("latest"));
    assertEquals(v1.signed().imageId().toString(),
        registry.resolve("hello", null).orElseThrow().imageId());
  }

  @Test
  void refusedDeploysNameTheFailedCheckAndTouchNothing() throws Exception {
    Images.Function v1 = Images.function(work, "echo one\n", Images.shellAlias());
    assertEquals(201, deploy(v1, true).statusCode());

    // Bad signature: the signature of another manifest.
    Images.Function other = Images.function(work, "echo other\n", Images.shellAlias());
    DeployBundle forged = new DeployBundle().config(CONFIG)
        .manifest(other.signed().manifest().bytes())
        .signature(v1.signed().signature())
        .certificate(other.signed().certificateDer())
        .layer(other.layer(), other.tar());
    refused(http.deploy(forged), 400, "BAD_SIGNATURE");
    assertFalse(registry.images().hasBlob(other.layer()), "a refused deploy stores no layer");
    assertOnlyVersionOne(v1);

    // Unresolvable alias: the vendor never published confaas-shell:9.
    Images.Function unknownAlias = Images.function(work, "echo x\n",
        AliasRef.of(Images.VENDOR.signerId(), NameSvn.of("confaas-shell", 9)));
    HttpResponse<String> alias = deploy(unknownAlias, true);
    refused(alias, 422, "UNRESOLVED_ALIAS");
    assertTrue(alias.body().contains("confaas-shell:9"), alias.body());
    assertOnlyVersionOne(v1);

    // Missing blob: the function layer is neither uploaded nor stored.
    Images.Function noLayer = Images.function(work, "echo missing\n", Images.shellAlias());
    HttpResponse<String> missing = deploy(noLayer, false);
    refused(missing, 422, "MISSING_LAYER");
    assertTrue(missing.body().contains(noLayer.layer().hex()), missing.body());
    assertOnlyVersionOne(v1);

    // Digest mismatch: a layer part whose content is not what its name claims.
    Images.Function mismatch = Images.function(work, "echo mismatch\n", Images.shellAlias());
    Path wrongTar = work.resolve("wrong.tar");
    Images.layer(work, "var/task", "handler.sh", "rm -rf /\n", wrongTar);
    DeployBundle swapped = new DeployBundle().config(CONFIG)
        .manifest(mismatch.signed().manifest().bytes())
        .signature(mismatch.signed().signature())
        .certificate(mismatch.signed().certificateDer())
        .layer(mismatch.layer(), wrongTar);
    refused(http.deploy(swapped), 422, "DIGEST_MISMATCH");
    assertOnlyVersionOne(v1);

    refused(http.deploy(Images.bundle(v1, "{\"name\":\"hello\",\"concurrency\":0}", true)), 400,
        "INVALID_CONFIG");
    assertOnlyVersionOne(v1);
  }

  @Test
  void aManifestSettingAVariableTheAgentReservesIsRefusedAtDeploy() throws Exception {
    // What an imported AWS base image's config carries; the agent would refuse it at every load.
    Path tar = work.resolve("reserved.tar");
    Digest layer =
        Images.layer(work, "var/task", "handler.sh", "echo hi\n", tar);
    for (String rule : List.of("LAMBDA_TASK_ROOT=/var/task", "AWS_REGION", "_HANDLER")) {
      SignedManifest signed = Images.AUTHOR.signer().signed(
          Manifest.builder()
              .addLayer(Images.shellAlias())
              .addLayer(layer)
              .entrypoint("/var/runtime/bootstrap")
              .addEnv("_HANDLER=handler.sh")
              .addEnv(rule)
              .build());
      HttpResponse<String> r = deploy(new Images.Function(signed, layer, tar), true);
      JsonObject problem = ProblemAssertions.assertProblem(r, 400, "INVALID_MANIFEST");
      String name = rule.contains("=") ? rule.substring(0, rule.indexOf('=')) : rule;
      assertTrue(problem.getString("detail").contains("names " + name + ", which the agent sets"),
          "the problem must name the variable: " + problem.encode());
      assertTrue(registry.resolve("hello", null).isEmpty(), "a refused deploy stores nothing");
      assertFalse(registry.images().hasBlob(layer), "a refused deploy stores no layer");
    }
    Images.Function twoHandlers = new Images.Function(Images.AUTHOR.signer().signed(
        Manifest.builder().addLayer(Images.shellAlias()).addLayer(layer)
            .entrypoint("/var/runtime/bootstrap").addEnv("_HANDLER=a.sh").addEnv("_HANDLER=b.sh")
            .build()), layer, tar);
    JsonObject twice = ProblemAssertions.assertProblem(deploy(twoHandlers, true), 400,
        "INVALID_MANIFEST");
    assertTrue(twice.getString("detail").contains("_HANDLER a second time"), twice.encode());
  }

  @Test
  void malformedBundlesAreRefusedWithWhatIsMissing() throws Exception {
    Images.Function f = Images.function(work, "echo\n", Images.shellAlias());
    HttpResponse<String> noSig = http.deploy(new DeployBundle().config(CONFIG)
        .manifest(f.signed().manifest().bytes()).certificate(f.signed().certificateDer()));
    refused(noSig, 400, "INVALID_BUNDLE");
    assertTrue(noSig.body().contains("signature"), noSig.body());

    HttpResponse<String> json = http.post("/v1/functions", "{\"name\":\"hello\"}");
    refused(json, 415, "UNSUPPORTED_MEDIA_TYPE");

    HttpResponse<String> twice =
        http.deploy(Images.bundle(f, CONFIG, true).layer(f.layer(), f.tar()));
    assertEquals(201, twice.statusCode(), "the same layer twice is harmless: " + twice.body());

    HttpResponse<String> badConfig = http.deploy(Images.bundle(f, "{\"name\":\"../etc\"}", true));
    refused(badConfig, 400, "INVALID_NAME");
    JsonObject nobody = ProblemAssertions.assertProblem(http.get("/v1/functions/nobody"), 404,
        "NOT_FOUND");
    assertTrue(nobody.getString("detail").contains("\"nobody\""), nobody.encode());
  }

  static void refused(HttpResponse<String> r, int status, String reason) {
    ProblemAssertions.assertProblem(r, status, reason);
  }

  @Test
  void deleteForgetsTheFunction() throws Exception {
    assertEquals(201, deploy(Images.function(work, "echo\n", Images.shellAlias()), true)
        .statusCode());
    assertEquals(200, http.delete("/v1/functions/hello").statusCode());
    assertEquals(404, http.get("/v1/functions/hello").statusCode());
    assertTrue(registry.resolve("hello", null).isEmpty());
    ProblemAssertions.assertProblem(http.delete("/v1/functions/hello"), 404, "NOT_FOUND");
    assertEquals("[]", http.get("/v1/functions").body());
  }

  @Test
  void registrySurvivesARestart() throws Exception {
    Images.Function v1 = Images.function(work, "echo one\n", Images.shellAlias());
    assertEquals(201, deploy(v1, true).statusCode());
    String token = gateway.adminToken();
    gateway.close();

    FunctionRegistry reopened = FunctionRegistry.open(data, Images.CLOCK);
    gateway = startGateway(reopened);
    assertFalse(gateway.adminTokenCreated());
    assertEquals(token, gateway.adminToken(), "the admin token is kept in the data directory");
    http = new Http(gateway.url(), token);
    JsonArray all = new JsonArray(http.get("/v1/functions").body());
    assertEquals(1, all.size(), all.encode());
    assertEquals(v1.signed().imageId().toString(),
        reopened.resolve("hello", "latest").orElseThrow().imageId());
    assertEquals(List.of(vendorImage), reopened.resolve("hello", "1").orElseThrow().dependencies());
    // And the next deploy continues the numbering.
    HttpResponse<String> r = deploy(Images.function(work, "echo two\n", Images.shellAlias()), true);
    assertEquals(2, new JsonObject(r.body()).getInteger("version"), r.body());
  }

  @Test
  void tokenAuthFunctionsNeedTheirInvokeToken() throws Exception {
    Images.Function f = Images.function(work, "echo secret\n", Images.shellAlias());
    HttpResponse<String> r = http.deploy(Images.bundle(f,
        "{\"name\":\"hello\",\"invokeAuth\":\"token\"}", true));
    assertEquals(201, r.statusCode(), r.body());
    String invokeToken = new JsonObject(r.body()).getString("invokeToken");
    assertNotNull(invokeToken, r.body());

    Http caller = http.withToken(null);
    JsonObject denied = ProblemAssertions.assertProblem(
        caller.post("/v1/functions/hello/invoke", "x"), 401, "UNAUTHORIZED");
    assertTrue(denied.getString("detail").contains("invoke token"), denied.encode());
    assertEquals(401, caller.withToken("wrong").post("/v1/functions/hello/invoke", "x")
        .statusCode());
    HttpResponse<String> ok = caller.withToken(invokeToken).post("/v1/functions/hello/invoke", "x");
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals("x", ok.body());
    assertEquals(1, invoker.seen.size(), "refused calls never reached the invoker");
    // A redeploy keeps the token (and does not show it again).
    HttpResponse<String> again = http.deploy(Images.bundle(f,
        "{\"name\":\"hello\",\"invokeAuth\":\"token\"}", false));
    assertFalse(new JsonObject(again.body()).containsKey("invokeToken"), again.body());
    assertEquals(200, caller.withToken(invokeToken).post("/v1/functions/hello/invoke", "y")
        .statusCode());
    // The async status of a protected function needs its token too.
    HttpResponse<String> accepted =
        caller.withToken(invokeToken).post("/v1/functions/hello/invoke-async", "z");
    assertEquals(202, accepted.statusCode(), accepted.body());
    String location = accepted.headers().firstValue("Location").orElseThrow();
    ProblemAssertions.assertProblem(caller.get(location), 401, "UNAUTHORIZED");
    assertEquals("SUCCEEDED", new JsonObject(caller.withToken(invokeToken).get(location).body())
        .getString("state"));
    // A redeploy that does not mention invokeAuth keeps the requirement.
    assertEquals(201, http.deploy(Images.bundle(f, "{\"name\":\"hello\"}", false)).statusCode());
    assertEquals(401, caller.post("/v1/functions/hello/invoke", "x").statusCode());
    String stored = Files.readString(data.resolve("functions/hello.json"));
    assertTrue(stored.contains("invokeTokenSha256"), stored);
    assertFalse(Files.readString(data.resolve("functions/hello.json")).contains(invokeToken),
        "only the token's hash is stored");
  }
}
