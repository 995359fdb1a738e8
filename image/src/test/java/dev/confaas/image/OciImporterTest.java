package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciImporterTest {
  @TempDir Path tmp;
  byte[] base;
  byte[] app;
  String config;

  @BeforeEach
  void layers() throws IOException {
    base = new TarBuilder().file("bin/sh", "#!", 0755).file("etc/os-release", "ID=test").build();
    app =
        new TarBuilder().file("app/main.py", "print('hi')").file("etc/.wh.os-release", "").build();
    config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
            + "\"Entrypoint\":[\"/usr/bin/python3\"],\"Cmd\":[\"/app/main.py\"],"
            + "\"Env\":[\"PATH=/usr/bin:/bin\",\"LANG=C.UTF-8\"],\"WorkingDir\":\"/app\","
            + "\"User\":\"1000\",\"ExposedPorts\":{\"8080/tcp\":{}},\"Labels\":{}},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
            + sha256(base)
            + "\",\"sha256:"
            + sha256(app)
            + "\"]}}";
  }

  static String sha256(byte[] b) {
    return Digest.of(HashAlgorithm.SHA256, b).hex();
  }

  String putBlob(Path layout, byte[] b) throws IOException {
    String h = sha256(b);
    Files.createDirectories(layout.resolve("blobs/sha256"));
    Files.write(layout.resolve("blobs/sha256").resolve(h), b);
    return "sha256:" + h;
  }

  String descriptor(String mediaType, String digest, int size, String extra) {
    return "{\"mediaType\":\""
        + mediaType
        + "\",\"digest\":\""
        + digest
        + "\",\"size\":"
        + size
        + extra
        + "}";
  }

  Path ociLayout(String configJson) throws IOException {
    Path layout = Files.createDirectories(tmp.resolve("layout"));
    Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    byte[] gz = TarBuilder.gzip(base);
    byte[] cfg = configJson.getBytes(StandardCharsets.UTF_8);
    String manifest =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":"
            + descriptor(
                "application/vnd.oci.image.config.v1+json", putBlob(layout, cfg), cfg.length, "")
            + ",\"layers\":["
            + descriptor(
                "application/vnd.oci.image.layer.v1.tar+gzip", putBlob(layout, gz), gz.length, "")
            + ","
            + descriptor(
                "application/vnd.oci.image.layer.v1.tar", putBlob(layout, app), app.length, "")
            + "]}";
    byte[] mb = manifest.getBytes(StandardCharsets.UTF_8);
    String armManifest = putBlob(layout, "{}".getBytes(StandardCharsets.UTF_8));
    Files.writeString(
        layout.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":["
            + descriptor(
                "application/vnd.oci.image.manifest.v1+json",
                armManifest,
                2,
                ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}")
            + ","
            + descriptor(
                "application/vnd.oci.image.manifest.v1+json",
                putBlob(layout, mb),
                mb.length,
                ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}")
            + "]}");
    return layout;
  }

  void assertImported(OciImporter.Result r, Path out) throws IOException {
    Manifest m = r.manifest();
    assertEquals(List.of(Digest.sha384(base), Digest.sha384(app)), m.layers());
    assertEquals(List.of("/usr/bin/python3", "/app/main.py"), m.entrypoint());
    assertEquals(List.of("PATH=/usr/bin:/bin", "LANG=C.UTF-8", "_HANDLER=/app/main.py"), m.env(),
        "a one-element Cmd is the handler, as Lambda takes an image's CMD");
    assertEquals("/app", m.workingDir());
    assertArrayEquals(
        base,
        Files.readAllBytes(out.resolve(OciImporter.layerFileName(Digest.sha384(base)))),
        "layers are written uncompressed");
    assertEquals(Digest.sha384(app), LayerDigests.sha384(r.layers().get(Digest.sha384(app))));
    assertTrue(r.notes().stream().anyMatch(n -> n.contains("User")), r.notes().toString());
    assertTrue(r.notes().stream().anyMatch(n -> n.contains("ExposedPorts")), r.notes().toString());
    assertTrue(
        r.notes().stream().noneMatch(n -> n.contains("Labels")), "empty settings are not noise");
  }

  @Test
  void importsAnOciLayoutPickingLinuxAmd64() throws IOException {
    Path out = tmp.resolve("out");
    assertImported(OciImporter.fromLayout(ociLayout(config), out), out);
  }

  @Test
  void anAwsBaseImageIsMappedAsLambdaMapsIt() throws IOException {
    // The config of AWS's public.ecr.aws/lambda/* base images, with the author's CMD.
    String aws =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
            + "\"Entrypoint\":[\"/lambda-entrypoint.sh\"],\"Cmd\":[\"app.handler\"],"
            + "\"Env\":[\"LANG=en_US.UTF-8\",\"TZ=:/etc/localtime\",\"PATH=/var/lang/bin:/usr/bin:/bin\","
            + "\"LAMBDA_TASK_ROOT=/var/task\",\"LAMBDA_RUNTIME_DIR=/var/runtime\"],"
            + "\"WorkingDir\":\"/var/task\"},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + sha256(base)
            + "\",\"sha256:" + sha256(app) + "\"]}}";
    OciImporter.Result r = OciImporter.fromLayout(ociLayout(aws), tmp.resolve("out"));
    Manifest m = r.manifest();
    assertEquals(List.of("/lambda-entrypoint.sh", "app.handler"), m.entrypoint(),
        "the entrypoint script still gets the handler as its argument");
    assertEquals(
        List.of("LANG=en_US.UTF-8", "PATH=/var/lang/bin:/usr/bin:/bin", "_HANDLER=app.handler"),
        m.env());
    assertEquals(java.util.Optional.empty(), LambdaReservedEnv.violation(m.env()),
        "the agent and the gateway must accept the imported env");
    assertEquals(3, r.warnings().size(), r.warnings().toString());
    for (String dropped : List.of("TZ", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR")) {
      assertTrue(r.warnings().stream().anyMatch(w -> w.startsWith("config Env " + dropped + "=")
          && w.contains("dropped")), dropped + " not reported: " + r.warnings());
    }
  }

  @Test
  void aCmdOfSeveralArgumentsIsNoHandler() throws IOException {
    OciImporter.Result r = OciImporter.fromLayout(
        ociLayout(config.replace("[\"/app/main.py\"]", "[\"/app/main.py\",\"--port\",\"80\"]")),
        tmp.resolve("out"));
    assertTrue(r.manifest().env().stream().noneMatch(LambdaReservedEnv::isHandlerRule),
        r.manifest().env().toString());
    assertEquals(List.of(), r.warnings());
  }

  @Test
  void corruptBlobsAndDiffIdsAreNamed() throws IOException {
    Path layout = ociLayout(config.replace(sha256(app), sha256(base)));
    LayerException e =
        assertThrows(LayerException.class, () -> OciImporter.fromLayout(layout, tmp.resolve("o1")));
    assertTrue(
        e.getMessage().contains("layer 1") && e.getMessage().contains("diff_ids"), e.getMessage());

    Path layout2 = tmp.resolve("layout");
    Files.write(
        layout2.resolve("blobs/sha256").resolve(sha256(app)),
        new TarBuilder().file("x", "evil").build());
    e =
        assertThrows(
            LayerException.class, () -> OciImporter.fromLayout(layout2, tmp.resolve("o2")));
    assertTrue(e.getMessage().contains("does not match its digest"), e.getMessage());
  }

  @Test
  void importsADockerSaveArchive() throws IOException {
    byte[] cfg = config.getBytes(StandardCharsets.UTF_8);
    String cfgName = sha256(cfg) + ".json";
    byte[] archive =
        new TarBuilder()
            .file(cfgName, cfg, 0644)
            .file("aaa/layer.tar", base, 0644)
            .file("bbb/layer.tar", app, 0644)
            .file(
                "manifest.json",
                "[{\"Config\":\""
                    + cfgName
                    + "\",\"RepoTags\":[\"hello:latest\"],"
                    + "\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}]")
            .build();
    Path tar = Files.write(tmp.resolve("hello.tar"), archive);
    Path out = tmp.resolve("out");
    assertImported(OciImporter.fromDockerArchive(tar, out), out);
    try (var s = Files.list(out)) {
      assertEquals(2, s.count(), "only the two layer tars are left in the output directory");
    }
  }

  @Test
  void dockerArchiveMayLinkRepeatedLayers() throws IOException {
    byte[] cfg = "{\"config\":{\"Cmd\":[\"/bin/sh\"]}}".getBytes(StandardCharsets.UTF_8);
    byte[] archive =
        new TarBuilder()
            .file("c.json", cfg, 0644)
            .file("aaa/layer.tar", base, 0644)
            .symlink("bbb/layer.tar", "../aaa/layer.tar")
            .file(
                "manifest.json",
                "[{\"Config\":\"c.json\",\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}]")
            .build();
    Path tar = Files.write(tmp.resolve("dup.tar"), archive);
    OciImporter.Result r = OciImporter.fromDockerArchive(tar, tmp.resolve("o"));
    // The link is followed; the layer listed twice is kept once, at its upper position.
    assertEquals(List.of(Digest.sha384(base)), r.manifest().layers());
    assertTrue(
        r.notes().stream().anyMatch(n -> n.contains("repeated layer")), r.notes().toString());
  }

  @Test
  void dockerArchivePathsMayNotLeaveTheArchive() throws IOException {
    byte[] archive =
        new TarBuilder()
            .file("manifest.json", "[{\"Config\":\"../../etc/passwd\",\"Layers\":[]}]")
            .build();
    Path tar = Files.write(tmp.resolve("evil.tar"), archive);
    LayerException e =
        assertThrows(
            LayerException.class, () -> OciImporter.fromDockerArchive(tar, tmp.resolve("o")));
    assertTrue(e.getMessage().contains("leaves the archive"), e.getMessage());
  }
}
