package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SigningKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code confaas vendor publish|resolve}, run in-process through {@link Main#run}. */
class VendorCommandTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);

  @TempDir Path dir;
  private Path key;
  private Path cert;
  private SigningKeys keys;

  /** What one run printed and returned. */
  record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.run(new PrintWriter(out), new PrintWriter(err), args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** The vendor's keys, made the way a vendor would: with {@code confaas keygen}. */
  @BeforeEach
  void vendorKeys() throws Exception {
    Run keygen = run("keygen", "--out", dir.resolve("keys").toString(), "--name", "vendor");
    assertEquals(0, keygen.exit(), keygen.err());
    key = dir.resolve("keys/vendor.key.pem");
    cert = dir.resolve("keys/vendor.cert.der");
    keys = SigningKeys.of(SigningKeys.readPrivateKeyPem(Files.readAllBytes(key)),
        Files.readAllBytes(cert));
  }

  private Path frameworkDir(String version) throws Exception {
    Path d = dir.resolve("framework-" + version);
    Files.createDirectories(d.resolve("opt/fw/bin"));
    Files.writeString(d.resolve("opt/fw/VERSION"), version + "\n");
    Path bin = d.resolve("opt/fw/bin/bootstrap");
    Files.writeString(bin, "#!/bin/sh\nexec /opt/fw/run \"$@\"\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    return d;
  }

  private Run publish(Path layer, String names, String... extra) {
    String[] base = {"vendor", "publish", "--layer", layer.toString(), "--name", names,
        "--key", key.toString(), "--cert", cert.toString(), "--out", dir.resolve("registry").toString()};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return run(all);
  }

  @Test
  void publishPrintsTheAliasReferencesAndResolveFollowsAnUpdate() throws Exception {
    Run first = publish(frameworkDir("1.0"), "Framework:2,Framework:1");
    assertEquals(0, first.exit(), first.err());
    String ref = "signer/" + keys.signerId() + "/Framework:2";
    assertTrue(first.out().contains("  " + ref + "\n"), first.out());
    assertTrue(first.out().contains("  signer/" + keys.signerId() + "/Framework:1\n"), first.out());

    // The function author's manifest names the framework by alias (it is never re-signed here).
    Digest code = Digest.sha384("handler".getBytes(StandardCharsets.UTF_8));
    Manifest fn = Manifest.builder().addLayer(AliasRef.parse(ref)).addLayer(code)
        .entrypoint("/opt/fw/bin/bootstrap").build();
    Path fnManifest = dir.resolve("fn-manifest.json");
    Files.write(fnManifest, fn.bytes());

    Run resolved = run("vendor", "resolve", fnManifest.toString(),
        "--registry", dir.resolve("registry").toString(), "--json");
    assertEquals(0, resolved.exit(), resolved.err());
    JsonNode before = new ObjectMapper().readTree(resolved.out());
    assertTrue(before.get("complete").asBoolean());
    String v1 = before.get("layers").get(0).get("digest").asText();
    assertEquals(code.toString(), before.get("layers").get(1).get("digest").asText());

    Run update = publish(frameworkDir("1.1"), "Framework:2", "--json");
    assertEquals(0, update.exit(), update.err());
    JsonNode published = new ObjectMapper().readTree(update.out());
    assertEquals(2, published.get("publication").asLong());
    assertEquals(ref, published.get("aliases").get(0).asText());

    Run after = run("vendor", "resolve", fnManifest.toString(),
        "--registry", dir.resolve("registry").toString());
    assertEquals(0, after.exit(), after.err());
    String v2 = published.get("layer").asText();
    assertNotEquals(v1, v2);
    assertTrue(after.out().startsWith("0  " + ref + "  ->  " + v2 + "  (publication 2)"),
        after.out());
  }

  @Test
  void publishingTheSameDirectoryTwiceGivesTheSameLayerDigest() throws Exception {
    Path fw = frameworkDir("1.0");
    Run a = publish(fw, "Framework:2", "--json");
    Run b = publish(fw, "Framework:2", "--json");
    assertEquals(0, a.exit(), a.err());
    JsonNode ja = new ObjectMapper().readTree(a.out());
    JsonNode jb = new ObjectMapper().readTree(b.out());
    assertEquals(ja.get("layer"), jb.get("layer"), "packing is reproducible");
    assertEquals(1, jb.get("publication").asLong(), "and republishing is a no-op");
  }

  @Test
  void resolveListsEveryUnresolvedEntryAndExitsOne() throws Exception {
    assertEquals(0, publish(frameworkDir("1.0"), "Framework:2").exit());
    Manifest fn = Manifest.builder()
        .addLayer(AliasRef.of(keys.signerId(), NameSvn.parse("Framework:3")))
        .addLayer(AliasRef.of(keys.signerId(), NameSvn.parse("Runtime:1")))
        .build();
    Path m = dir.resolve("fn.json");
    Files.write(m, fn.bytes());
    Run r = run("vendor", "resolve", m.toString(), "--registry", dir.resolve("registry").toString());
    assertEquals(1, r.exit());
    assertTrue(r.out().contains("UNRESOLVED"), r.out());
    assertTrue(r.err().startsWith("confaas resolve: 2 layer entries do not resolve"), r.err());
    assertTrue(r.err().contains("Framework:3") && r.err().contains("Runtime:1"), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
  }

  @Test
  void usageAndInputErrorsFollowTheExitCodeConventions() throws Exception {
    Run badName = publish(frameworkDir("1.0"), "Framework");
    assertEquals(2, badName.exit(), badName.err());
    assertTrue(badName.err().contains("--name 'Framework'"), badName.err());

    Run missingKey = run("vendor", "publish", "--layer", frameworkDir("1.1").toString(),
        "--name", "Framework:2", "--key", dir.resolve("nope.pem").toString(),
        "--cert", cert.toString(), "--out", dir.resolve("registry").toString());
    assertEquals(1, missingKey.exit());
    assertTrue(missingKey.err().contains("cannot read key " + dir.resolve("nope.pem")
        + ": no such file"), missingKey.err());

    SigningKeys other = SigningKeys.generate("someone else", CLOCK);
    Path otherCert = dir.resolve("other.der");
    Files.write(otherCert, other.certificateDer());
    Run mismatch = run("vendor", "publish", "--layer", frameworkDir("1.2").toString(),
        "--name", "Framework:2", "--key", key.toString(), "--cert", otherCert.toString(),
        "--out", dir.resolve("registry").toString());
    assertEquals(1, mismatch.exit());
    assertTrue(mismatch.err().contains("does not belong to the certificate"), mismatch.err());

    assertEquals(2, run("vendor").exit());
    assertEquals(2, run("vendor", "resolve").exit(), "MANIFEST and --registry are required");
  }

  @Test
  void helpShowsExamples() {
    Run help = run("vendor", "publish", "--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("Examples:"), help.out());
    assertTrue(help.out().contains("--name=NAME:SVN"), help.out());
    Run resolveHelp = run("vendor", "resolve", "--help");
    assertTrue(resolveHelp.out().contains("--registry"), resolveHelp.out());
  }
}
