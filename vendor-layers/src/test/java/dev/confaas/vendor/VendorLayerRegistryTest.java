package dev.confaas.vendor;

import static dev.confaas.vendor.Fixtures.digestOf;
import static dev.confaas.vendor.Fixtures.keys;
import static dev.confaas.vendor.Fixtures.tar;
import static dev.confaas.vendor.Fixtures.vendorManifest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flow 4 of ARCHITECTURE.md: a vendor layer update reaches functions without re-signing them. */
class VendorLayerRegistryTest {
  @TempDir Path dir;

  private static final AliasRef FRAMEWORK =
      AliasRef.of(keys("csp").signerId(), NameSvn.parse("Framework:2"));

  /** The function author's manifest: the vendor framework by alias, its own code by digest. */
  private SignedManifest functionManifest(Digest code) {
    Manifest m = Manifest.builder()
        .addLayer(FRAMEWORK)
        .addLayer(code)
        .entrypoint("/var/task/bootstrap")
        .selfAlias(NameSvn.parse("Thumbnailer:1"))
        .build();
    return keys("author").signer().signed(m);
  }

  @Test
  void anUpdateMovesTheAliasAndTheFunctionFollowsWithoutReSigning() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Digest v1 = registry.addLayer(tar(dir, "framework-1", Map.of("opt/fw/VERSION", "1.0\n")));
    Digest v2 = registry.addLayer(tar(dir, "framework-2", Map.of("opt/fw/VERSION", "1.1\n")));
    Digest code = digestOf(tar(dir, "fn", Map.of("var/task/bootstrap", "#!/bin/sh\n")));
    assertEquals(digestOf(dir.resolve("framework-1.tar")), v1, "a layer is named by its tar's SHA-384");

    VendorLayerRegistry.Publication first =
        registry.publish(vendorManifest("csp", v1, "Framework:2", "Framework:1"));
    assertEquals(List.of(FRAMEWORK, AliasRef.of(keys("csp").signerId(), NameSvn.parse("Framework:1"))),
        first.defines());

    SignedManifest fn = functionManifest(code);
    LayerResolution before = registry.resolver().resolveLayers(fn.manifest());
    assertEquals(List.of(v1, code), before.digests());
    LoadedImage loaded = LoadedImage.of(fn.imageId(), before);
    assertTrue(registry.resolver().staleImages(List.of(loaded)).isEmpty(), "nothing changed yet");

    VendorLayerRegistry.Publication update =
        registry.publish(vendorManifest("csp", v2, "Framework:2", "Framework:1"));
    assertTrue(update.sequence() > first.sequence());

    LayerResolution after = registry.resolver().resolveLayers(fn.manifest());
    assertEquals(List.of(v2, code), after.digests(), "same signed function, new framework layer");
    fn.verify(); // the function's signature is untouched

    StaleAliasReport report = registry.resolver().staleImages(
        List.of(loaded, LoadedImage.of(fn.imageId(), after)));
    assertEquals(1, report.staleImages().size(), "only the image loaded before the update is stale");
    StaleAliasReport.ChangedAlias change = report.staleImages().get(0).changes().get(0);
    assertEquals(FRAMEWORK, change.alias());
    assertEquals(v1, change.loaded());
    assertEquals(v2, change.current().orElseThrow());
    assertTrue(change.why().contains("moved from " + v1 + " to " + v2), change.why());
  }

  @Test
  void publicationsSurviveReopeningAndAreIdempotent() throws Exception {
    Path root = dir.resolve("registry");
    VendorLayerRegistry registry = VendorLayerRegistry.open(root);
    Digest v1 = registry.addLayer(tar(dir, "fw", Map.of("fw", "1")));
    SignedManifest m = vendorManifest("csp", v1, "Framework:2");
    VendorLayerRegistry.Publication p = registry.publish(m);
    assertEquals(p, registry.publish(m), "publishing the same manifest again is a no-op");
    assertEquals(v1, registry.addLayer(dir.resolve("fw.tar")), "adding the same layer again too");

    VendorLayerRegistry reopened = VendorLayerRegistry.open(root);
    assertEquals(List.of(p), reopened.publications());
    assertEquals(v1, reopened.resolver().resolve(FRAMEWORK).digest().orElseThrow());
    assertArrayEquals(Files.readAllBytes(dir.resolve("fw.tar")),
        Files.readAllBytes(reopened.layer(v1).orElseThrow()), "the stored layer is the tar");
    try (Stream<Path> leftovers = Stream.concat(
        Files.list(root.resolve("tmp")),
        Files.list(root.resolve("publications")).filter(f -> f.toString().endsWith(".part")))) {
      assertEquals(List.of(), leftovers.toList(), "no temporary files remain after publishing");
    }
  }

  @Test
  void concurrentPublishersGetDistinctSequenceNumbers() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    int publishers = 4;
    ExecutorService pool =
        Executors.newFixedThreadPool(publishers);
    try {
      List<Future<VendorLayerRegistry.Publication>> futures =
          new ArrayList<>();
      for (int i = 0; i < publishers; i++) {
        Digest layer = Digest.sha384(("layer " + i).getBytes(StandardCharsets.UTF_8));
        SignedManifest m = vendorManifest("csp", layer, "Framework:" + i);
        futures.add(pool.submit(() -> registry.publish(m)));
      }
      Set<Long> sequences = new TreeSet<>();
      for (var f : futures) {
        sequences.add(f.get().sequence());
      }
      assertEquals(Set.of(1L, 2L, 3L, 4L), sequences);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aGzippedLayerIsStoredUncompressedUnderTheTarsDigest() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Path plain = tar(dir, "fw", Map.of("opt/fw/VERSION", "2.0\n"));
    Path gz = dir.resolve("fw.tar.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      Files.copy(plain, out);
    }
    Digest d = registry.addLayer(gz);
    assertEquals(digestOf(plain), d);
    assertArrayEquals(Files.readAllBytes(plain), Files.readAllBytes(registry.layer(d).orElseThrow()));
  }

  @Test
  void somethingThatIsNotATarIsRefusedWithItsPath() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Path notTar = dir.resolve("framework.zip");
    Files.write(notTar, "PK\3\4 this is a zip, not a tar".repeat(40).getBytes(StandardCharsets.UTF_8));
    IOException e = assertThrows(IOException.class, () -> registry.addLayer(notTar));
    assertTrue(e.getMessage().startsWith(notTar.toString()), e.getMessage());
    try (Stream<Path> blobs = Files.walk(registry.root().resolve("blobs"))) {
      assertEquals(0, blobs.filter(Files::isRegularFile).count(), "nothing was stored");
    }
  }

  @Test
  void theVendorImageCanBeLoadedFromTheRegistrysRepository() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Digest fw = registry.addLayer(tar(dir, "fw", Map.of("fw", "1")));
    SignedManifest vendor = vendorManifest("csp", fw, "Framework:2");
    registry.publish(vendor);
    SignedManifest stored = registry.repository().getImage(vendor.imageId()).orElseThrow();
    assertEquals(vendor.imageId(), stored.imageId());
    assertEquals(List.of(), registry.repository().missingBlobs(stored.manifest()),
        "the vendor image's own layer is there to load");
  }

  @Test
  void aTamperedPublicationIsReportedWithItsDirectory() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Digest v1 = registry.addLayer(tar(dir, "fw", Map.of("fw", "1")));
    VendorLayerRegistry.Publication p = registry.publish(vendorManifest("csp", v1, "Framework:2"));
    Path manifest = registry.root().resolve("images/" + p.imageId()).resolve("manifest.json");
    String json = Files.readString(manifest).replace("Framework:2", "Framework:3");
    Files.writeString(manifest, json);
    IOException e = assertThrows(IOException.class, registry::resolver);
    assertTrue(e.getMessage().startsWith("publication " + registry.root().resolve(
        "publications/0000000000000000001")), e.getMessage());
    assertTrue(e.getMessage().contains("altered"), e.getMessage());
  }

  @Test
  void aTamperedLayerIsNotServed() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Digest v1 = registry.addLayer(tar(dir, "fw", Map.of("fw", "1")));
    Path stored = registry.layer(v1).orElseThrow();
    Files.write(stored, new byte[] {1, 2, 3});
    IOException e = assertThrows(IOException.class, () -> registry.layer(v1));
    assertTrue(e.getMessage().contains("does not hash to its name"), e.getMessage());
  }

  @Test
  void aManifestWithoutContentAliasesIsNotAPublication() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    SignedManifest plain = keys("csp").signer().signed(Manifest.builder().build());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> registry.publish(plain));
    assertTrue(e.getMessage().contains("defines no aliases.contents"), e.getMessage());
  }

  @Test
  void anAliasThatNoLongerResolvesMakesTheImageStale() throws Exception {
    VendorLayerRegistry registry = VendorLayerRegistry.open(dir.resolve("registry"));
    Digest fw = registry.addLayer(tar(dir, "fw", Map.of("fw", "1")));
    AliasRef gone = AliasRef.of(keys("csp").signerId(), NameSvn.parse("Retired:1"));
    LoadedImage loaded = new LoadedImage(functionManifest(fw).imageId(), Map.of(gone, fw));
    StaleAliasReport report = registry.resolver().staleImages(List.of(loaded));
    assertEquals(1, report.imageIds().size());
    assertTrue(report.staleImages().get(0).changes().get(0).current().isEmpty());
  }
}
