package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.Digest;
import dev.confaas.image.ImageLimits;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, defect 10, at the gateway: what can never run, or would fill the disk, is refused at
 * deploy with a problem naming the limit, and nothing of it is stored. Small limits keep it fast;
 * the shape of the attack (a small gzip that inflates far past the layer limit) is the reported one.
 */
class GatewayDeployLimitsTest {
  static final String CONFIG = "{\"name\":\"bomb\",\"concurrency\":1,\"timeoutMs\":5000}";
  static final ImageLimits LIMITS =
      ImageLimits.builder().maxLayerBytes(4L << 20).maxImageBytes(6L << 20).maxManifestBytes(64 << 10).build();

  @TempDir Path data;
  @TempDir Path work;
  FunctionRegistry registry;
  Gateway gateway;
  Http http;

  @BeforeEach
  void start() throws Exception {
    registry = FunctionRegistry.open(data, Images.CLOCK, LIMITS);
    Images.publishShellRuntime(registry.vendorLayers(), work);
    TestInvoker invoker = new TestInvoker();
    gateway = new Gateway(GatewayConfig.builder(data).clock(Images.CLOCK).build(), invoker, registry,
        new InMemoryAsyncInvocations(invoker, Images.CLOCK, Duration.ofHours(1), Duration.ofMinutes(1)),
        TdDirectory.NONE, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true);
    gateway.start();
    http = new Http(gateway.url(), gateway.adminToken());
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  void aGzipBombLayerIsRefusedWhileItStreamsAndNothingIsStored() throws Exception {
    // 64 MiB of zeros in one tar entry: ~64 KB of gzip, 16 times the layer limit once inflated.
    byte[] bomb = gzipTarOfZeros(64L << 20);
    assertTrue(bomb.length < 200_000, "the bomb is " + bomb.length + " bytes of gzip");
    Digest claimed = LayerDigests.sha384(new ByteArrayInputStream(bomb));
    Path tar = Files.write(work.resolve("bomb.tar.gz"), bomb);
    SignedManifest m = Images.AUTHOR.signer().signed(Manifest.builder()
        .addLayer(Images.shellAlias()).addLayer(claimed)
        .entrypoint("/var/runtime/bootstrap").addEnv("_HANDLER=handler.sh").build());

    HttpResponse<String> r = http.deploy(new DeployBundle().config(CONFIG)
        .manifest(m.manifest().bytes()).signature(m.signature())
        .certificate(m.certificateDer()).layer(claimed, tar));

    JsonObject p = ProblemAssertions.assertProblem(r, 413, "IMAGE_LIMIT");
    assertTrue(p.getString("detail").contains(claimed.toString()), p.encode());
    assertTrue(p.getString("detail").contains(ImageLimits.MAX_LAYER_BYTES), p.encode());
    assertFalse(registry.images().hasBlob(claimed), "a refused layer is not stored");
    assertTrue(registry.get("bomb").isEmpty(), "no function was deployed");
    assertEquals(0, filesUnder(data.resolve("images").resolve("tmp")), "no temp file is left behind");
  }

  @Test
  void aManifestOverTheLimitIsRefusedBeforeItIsParsed() throws Exception {
    Images.Function f = Images.function(work, "echo\n", Images.shellAlias());
    byte[] huge = new byte[(64 << 10) + 1];
    java.util.Arrays.fill(huge, (byte) ' '); // valid JSON whitespace: size alone must refuse it
    HttpResponse<String> r = http.deploy(new DeployBundle().config(CONFIG).manifest(huge)
        .signature(f.signed().signature()).certificate(f.signed().certificateDer()));
    JsonObject p = ProblemAssertions.assertProblem(r, 413, "IMAGE_LIMIT");
    assertTrue(p.getString("detail").contains(ImageLimits.MAX_MANIFEST_BYTES), p.encode());
  }

  @Test
  void aFunctionImageWithoutEntrypointIsRefusedAtDeploy() throws Exception {
    Path tar = work.resolve("fn.tar");
    Digest d = Images.layer(work, "var/task", "handler.sh", "echo\n", tar);
    SignedManifest m = Images.AUTHOR.signer().signed(Manifest.builder()
        .addLayer(Images.shellAlias()).addLayer(d).addEnv("_HANDLER=handler.sh").build());
    HttpResponse<String> r = http.deploy(new DeployBundle().config(CONFIG)
        .manifest(m.manifest().bytes()).signature(m.signature())
        .certificate(m.certificateDer()).layer(d, tar));
    JsonObject p = ProblemAssertions.assertProblem(r, 400, "INVALID_MANIFEST");
    assertTrue(p.getString("detail").contains("entrypoint"), p.encode());
    assertFalse(registry.images().hasBlob(d), "nothing of a refused deploy is stored");
  }

  private static byte[] gzipTarOfZeros(long size) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar =
        new TarArchiveOutputStream(new GZIPOutputStream(bytes), StandardCharsets.UTF_8.name())) {
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      TarArchiveEntry e = new TarArchiveEntry("var/task/zeros");
      e.setSize(size);
      tar.putArchiveEntry(e);
      byte[] zeros = new byte[1 << 16];
      for (long left = size; left > 0; left -= zeros.length) {
        tar.write(zeros, 0, (int) Math.min(zeros.length, left));
      }
      tar.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }

  private static long filesUnder(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).count();
    }
  }
}
