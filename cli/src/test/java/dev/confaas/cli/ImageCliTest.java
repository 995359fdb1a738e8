package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.ImageId;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCliTest {
  static final String VENDOR = "signer/sha384/" + "ab".repeat(48) + "/python3:2";

  @TempDir Path dir;
  Path keys;
  Path cert;
  Path key;
  Path build;
  Path manifest;

  @BeforeEach
  void keysAndImage() throws IOException {
    keys = dir.resolve("keys");
    CliRun k = CliRun.of("keygen", "--out", keys.toString());
    assertEquals(0, k.code, k.toString());
    cert = keys.resolve("signer.cert.der");
    key = keys.resolve("signer.key.pem");
    Path fn = Files.createDirectories(dir.resolve("fn"));
    Files.writeString(fn.resolve("handler.sh"), "#!/bin/sh\necho hi\n");
    build = dir.resolve("build");
    CliRun b =
        CliRun.of(
            "image",
            "build",
            "--dir",
            fn.toString(),
            "--layer-prefix",
            "fn",
            "--entrypoint",
            "/fn/handler.sh",
            "-v",
            "--flag",
            "--vendor-layer",
            VENDOR,
            "--accepts",
            "sha384/*/*",
            "--reject-unaccepted",
            "--self-alias",
            "hello:1",
            "--env",
            "LOG=info",
            "--working-dir",
            "/fn",
            "--max-instances",
            "3",
            "--out",
            build.toString());
    assertEquals(0, b.code, b.toString());
    manifest = build.resolve("manifest.json");
  }

  @Test
  void buildWritesManifestWithVendorLayerFirstAndTheLayerByDigest() throws IOException {
    Manifest m = Manifest.parse(Files.readAllBytes(manifest));
    assertEquals(VENDOR, m.layers().get(0).toString(), "vendor alias first");
    String layer = m.layers().get(1).toString();
    assertTrue(
        Files.exists(build.resolve(layer.replace('/', '-') + ".tar")),
        "layer file named by digest");
    assertEquals(List.of("/fn/handler.sh", "-v", "--flag"), m.entrypoint(), "entrypoint args kept");
    assertEquals(List.of("LOG=info"), m.env());
    assertEquals("/fn", m.workingDir());
    assertEquals(3, m.maxInstances());
    assertEquals(List.of("sha384/*/*"), m.policy().accepts());
    assertTrue(m.policy().rejectUnaccepted());
    assertEquals("hello:1", m.aliases().self().get(0).toString());
  }

  @Test
  void idPrintsTheImageIdAloneOnItsLine() throws Exception {
    CliRun id = CliRun.of("image", "id", manifest.toString(), "--cert", cert.toString());
    assertEquals(0, id.code, id.toString());
    assertEquals("", id.err);
    assertTrue(
        id.out.matches("sha384/[0-9a-f]{96}/[0-9a-f]{96}\n"),
        "exactly the ID and a newline: " + id.out);
    SignedManifest sm =
        SignedManifest.of(
            Manifest.parse(Files.readAllBytes(manifest)), new byte[0], Files.readAllBytes(cert));
    assertEquals(sm.imageId(), ImageId.parse(id.out.trim()));

    Assumptions.assumeTrue(
        onPath("jq") && onPath("openssl"), "jq and openssl are needed for the cross-check");
    String independent =
        sh(
            "echo sha384/$(openssl dgst -sha384 -r '"
                + cert
                + "' | cut -d' ' -f1)/"
                + "$(jq -jcS . '"
                + manifest
                + "' | openssl dgst -sha384 -r | cut -d' ' -f1)");
    assertEquals(independent + "\n", id.out, "image ID agrees with openssl + jq");
  }

  @Test
  void idJsonForScripts() {
    CliRun id = CliRun.of("image", "id", manifest.toString(), "--cert", cert.toString(), "--json");
    assertEquals(0, id.code, id.toString());
    assertTrue(id.out.startsWith("{\"imageId\":\"sha384/"), id.out);
    assertTrue(id.out.contains("\"hash\":\"sha384\""), id.out);
  }

  @Test
  void signThenVerifyAndRejectTampering() throws IOException {
    CliRun s =
        CliRun.of(
            "image",
            "sign",
            manifest.toString(),
            "--key",
            key.toString(),
            "--cert",
            cert.toString());
    assertEquals(0, s.code, s.toString());
    Path sig = build.resolve("manifest.json.sig");
    assertEquals(
        "rw-r--r--",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(sig)),
        "signatures are public");

    CliRun ok =
        CliRun.of(
            "image",
            "verify",
            manifest.toString(),
            "--signature",
            sig.toString(),
            "--cert",
            cert.toString());
    assertEquals(0, ok.code, ok.toString());
    String id = CliRun.of("image", "id", manifest.toString(), "--cert", cert.toString()).out;
    assertEquals("verified: " + id, ok.out, "exactly one line naming the verified image");
    assertEquals("", ok.err);

    Path tampered = build.resolve("t.json");
    Files.writeString(
        tampered,
        Files.readString(manifest).replace("\"maxInstances\": 3", "\"maxInstances\": 30"));
    CliRun bad =
        CliRun.of(
            "image",
            "verify",
            tampered.toString(),
            "--signature",
            sig.toString(),
            "--cert",
            cert.toString());
    assertEquals(1, bad.code, bad.toString());
    assertEquals(1, bad.err.lines().count(), "one-line reason: " + bad.err);
    assertTrue(bad.err.contains("signature does not verify"), bad.err);

    CliRun badJson =
        CliRun.of(
            "image",
            "verify",
            tampered.toString(),
            "--signature",
            sig.toString(),
            "--cert",
            cert.toString(),
            "--json");
    assertEquals(1, badJson.code);
    assertTrue(
        badJson.out.startsWith("{\"verified\":false,\"reason\":\"signature does not verify"),
        badJson.out);

    // Reformatting the JSON does not change the canonical form: still verifies.
    Path reformatted = build.resolve("r.json");
    Files.writeString(
        reformatted, Files.readString(manifest).replace("\n", " ").replace("  ", " "));
    assertEquals(
        0,
        CliRun.of(
                "image",
                "verify",
                reformatted.toString(),
                "--signature",
                sig.toString(),
                "--cert",
                cert.toString())
            .code);

    CliRun missing = CliRun.of("image", "verify", manifest.toString(), "--cert", cert.toString());
    assertEquals(2, missing.code, "usage error: " + missing);
    CliRun noFile =
        CliRun.of(
            "image",
            "verify",
            manifest.toString(),
            "--signature",
            dir.resolve("nope").toString(),
            "--cert",
            cert.toString());
    assertEquals(1, noFile.code);
    assertTrue(
        noFile.err.contains("cannot read signature") && noFile.err.contains("no such file"),
        noFile.err);
  }

  @Test
  void verifiesWhatOpensslSignedAndOpensslVerifiesWhatWeSigned() throws Exception {
    Assumptions.assumeTrue(onPath("jq") && onPath("openssl"), "jq and openssl are needed");
    // openssl signs (the ACON spec's own recipe), confaas verifies.
    sh(
        "jq -jcS . '"
            + manifest
            + "' | openssl dgst -sha384 -sign '"
            + key
            + "' -out '"
            + dir.resolve("o.sig")
            + "'");
    CliRun v =
        CliRun.of(
            "image",
            "verify",
            manifest.toString(),
            "--signature",
            dir.resolve("o.sig").toString(),
            "--cert",
            cert.toString());
    assertEquals(0, v.code, v.toString());
    // confaas signs, openssl verifies.
    assertEquals(
        0,
        CliRun.of(
                "image",
                "sign",
                manifest.toString(),
                "--key",
                key.toString(),
                "--cert",
                cert.toString(),
                "--out",
                dir.resolve("j.sig").toString())
            .code);
    String out =
        sh(
            "openssl x509 -inform der -in '"
                + cert
                + "' -pubkey -noout > '"
                + dir.resolve("pub.pem")
                + "' && "
                + "jq -jcS . '"
                + manifest
                + "' | openssl dgst -sha384 -verify '"
                + dir.resolve("pub.pem")
                + "' -signature '"
                + dir.resolve("j.sig")
                + "'");
    assertEquals("Verified OK", out);
  }

  @Test
  void inspectShowsFieldsAndIds() {
    CliRun text = CliRun.of("image", "inspect", manifest.toString(), "--cert", cert.toString());
    assertEquals(0, text.code, text.toString());
    assertTrue(text.out.contains("image ID:        sha384/"), text.out);
    assertTrue(text.out.contains("(vendor alias python3:2)"), text.out);
    assertTrue(text.out.contains("rejects all others"), text.out);
    CliRun json = CliRun.of("image", "inspect", manifest.toString(), "--json");
    assertEquals(0, json.code);
    assertTrue(
        json.out.contains("\"maxInstances\":3")
            && json.out.contains("\"manifestDigest\":\"sha384/"),
        json.out);
  }

  @Test
  void errorsAreOneLineAndNameTheProblem() throws IOException {
    Path broken =
        Files.writeString(
            dir.resolve("broken.json"), "{\"aconSpecVersion\":[1,0],\"layers\":[\"sha1/ab\"]}");
    CliRun r = CliRun.of("image", "id", broken.toString(), "--cert", cert.toString());
    assertEquals(1, r.code);
    assertTrue(r.err.contains("layers[0]: \"sha1/ab\" is not a layer reference"), r.err);
    CliRun pemAsCert = CliRun.of("image", "id", manifest.toString(), "--cert", key.toString());
    assertEquals(1, pemAsCert.code);
    assertTrue(pemAsCert.err.contains("certificate " + key), pemAsCert.err);
    CliRun badAlias =
        CliRun.of(
            "image",
            "build",
            "--dir",
            dir.resolve("fn").toString(),
            "--entrypoint",
            "/x",
            "--self-alias",
            "../x:1",
            "--out",
            dir.resolve("o").toString());
    assertEquals(1, badAlias.code);
    assertTrue(badAlias.err.contains("--self-alias"), badAlias.err);
    CliRun outInside =
        CliRun.of(
            "image",
            "build",
            "--dir",
            dir.toString(),
            "--entrypoint",
            "/x",
            "--out",
            dir.resolve("o").toString());
    assertEquals(1, outInside.code);
    assertTrue(outInside.err.contains("is inside --dir"), outInside.err);
  }

  @Test
  void keygenWritesPrivateKeyReadableOnlyByOwnerAndRefusesToOverwrite() throws IOException {
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    CliRun again = CliRun.of("keygen", "--out", keys.toString());
    assertEquals(1, again.code);
    assertTrue(again.err.contains("already exists; use --force"), again.err);
    CliRun json = CliRun.of("keygen", "--out", keys.toString(), "--name", "vendor", "--json");
    assertEquals(0, json.code, json.toString());
    assertTrue(json.out.startsWith("{\"signerId\":\"sha384/"), json.out);
  }

  @Test
  void importsAnOciLayoutThenItCanBeSigned() throws IOException {
    Path layout = Files.createDirectories(dir.resolve("oci"));
    byte[] layer = LayerFixtures.tar("bin/app", "binary");
    byte[] cfg =
        ("{\"config\":{\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--port\",\"8080\"],\"Env\":[\"A=1\","
            + "\"LAMBDA_TASK_ROOT=/var/task\"],\"WorkingDir\":\"/w\"}}")
            .getBytes(StandardCharsets.UTF_8);
    String cfgD = LayerFixtures.blob(layout, cfg);
    String layerD = LayerFixtures.blob(layout, layer);
    byte[] mf =
        ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                + cfgD
                + "\",\"size\":"
                + cfg.length
                + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                + "\"digest\":\""
                + layerD
                + "\",\"size\":"
                + layer.length
                + "}]}")
            .getBytes(StandardCharsets.UTF_8);
    String mfD = LayerFixtures.blob(layout, mf);
    Files.writeString(
        layout.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
            + mfD
            + "\",\"size\":"
            + mf.length
            + "}]}");
    Path out = dir.resolve("imported");
    CliRun r =
        CliRun.of("image", "import", "--oci-layout", layout.toString(), "--out", out.toString());
    assertEquals(0, r.code, r.toString());
    Manifest m = Manifest.parse(Files.readAllBytes(out.resolve("manifest.json")));
    assertEquals(List.of("/bin/app", "--port", "8080"), m.entrypoint());
    assertEquals(List.of("A=1"), m.env(), "a reserved variable must not reach the manifest");
    assertTrue(r.err.contains("warning: config Env LAMBDA_TASK_ROOT=/var/task dropped: "
        + "LAMBDA_TASK_ROOT is set by the platform"), r.toString());
    assertEquals(
        0,
        CliRun.of(
                "image",
                "sign",
                out.resolve("manifest.json").toString(),
                "--key",
                key.toString(),
                "--cert",
                cert.toString())
            .code);
    CliRun both =
        CliRun.of(
            "image",
            "import",
            "--oci-layout",
            layout.toString(),
            "--docker-archive",
            "x.tar",
            "--out",
            out.toString());
    assertEquals(2, both.code, "the two sources exclude each other");
  }

  @Test
  void helpShowsExamples() {
    for (String[] args :
        new String[][] {
          {"image", "--help"},
          {"image", "verify", "--help"},
          {"keygen", "--help"},
          {"demo", "--help"}
        }) {
      CliRun r = CliRun.of(args);
      assertEquals(0, r.code);
      assertTrue(r.out.contains("Example"), String.join(" ", args) + ": " + r.out);
    }
  }

  static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  static String sh(String script) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("bash", "-ec", script).redirectErrorStream(true).start();
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(b);
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = b.toString(StandardCharsets.UTF_8).trim();
    assertEquals(0, p.exitValue(), script + "\n" + out);
    return out;
  }
}
