package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageLimits;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader in-process, over a simulated TDX module whose RTMR3 it extends. */
class AconImageLoaderTest {
  private static SimulatedPki pki;
  private static SigningKeys author;
  @TempDir Path tmp;
  private SimulatedTdxModule tdx;
  private AconImageLoader loader;

  @BeforeAll
  static void keys() {
    pki = SimulatedPki.generate(Instant.now());
    author = SigningKeys.generate("author", Clock.systemUTC());
  }

  @BeforeEach
  void fresh() throws Exception {
    tdx = new SimulatedTdxModule(pki, "agent".getBytes(StandardCharsets.US_ASCII));
    loader = new AconImageLoader(tmp.resolve("state"), tdx);
  }

  private ImageLoader.AddedManifest add(Manifest m) throws ImageRefusedException {
    SignedManifest s = author.signer().signed(m);
    return loader.addManifest(m.canonicalBytes(), s.signature(), s.certificateDer());
  }

  private String upload(Path tar) throws Exception {
    ImageLoader.BlobUpload up =
        loader.startBlob(LayerDigests.sha384(tar).toString(), Files.size(tar));
    up.append(Files.readAllBytes(tar));
    return up.finish();
  }

  private Path layer(String name, String file, String content) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Path f = dir.resolve(file);
    Files.createDirectories(f.getParent());
    Files.writeString(f, content);
    Path tar = tmp.resolve(name + ".tar");
    LayerTar.write(dir, "", tar);
    return tar;
  }

  @Test
  void eachNewImageIsMeasuredIntoRtmr3OnceAfterTheInitLine() throws Exception {
    Path tar = layer("one", "etc/which", "one");
    Manifest m = Manifest.builder().addLayer(LayerDigests.sha384(tar)).build();
    ImageLoader.AddedManifest first = add(m);
    assertEquals(List.of(LayerDigests.sha384(tar).toString()), first.missingLayers());
    ImageLoader.AddedManifest again = add(m);
    assertTrue(again.alreadyLoaded());
    RtmrLog log = loader.rtmr3Log();
    assertEquals(
        List.of(RtmrLog.INIT_LINE, RtmrLog.ADD_MANIFEST_PREFIX + first.imageId()), log.lines());
    assertArrayEquals(log.value(), tdx.rtmrs().get(3), "RTMR3 differs from the replay of its log");

    loader.finalizeImages();
    assertEquals(RtmrLog.FINALIZE_LINE, loader.rtmr3Log().lines().get(2));
    assertArrayEquals(loader.rtmr3Log().value(), tdx.rtmrs().get(3));
    ImageRefusedException late =
        assertThrows(
            ImageRefusedException.class, () -> add(Manifest.builder().maxInstances(5).build()));
    assertEquals(ImageRefusedException.Reason.FINALIZED, late.reason());
    // Blobs of manifests loaded before Finalize are still accepted (ACON).
    assertEquals(LayerDigests.sha384(tar).toString(), upload(tar));
  }

  @Test
  void aManifestNotInCanonicalFormIsRefused() {
    Manifest m = Manifest.builder().maxInstances(2).build();
    SignedManifest s = author.signer().signed(m);
    ImageRefusedException e =
        assertThrows(
            ImageRefusedException.class,
            () -> loader.addManifest(m.bytes(), s.signature(), s.certificateDer()));
    assertEquals(ImageRefusedException.Reason.MALFORMED, e.reason());
    assertTrue(e.getMessage().contains("canonical"), e.getMessage());
    assertEquals(List.of(), loader.rtmr3Log().lines(), "a refused manifest was measured");
  }

  @Test
  void aBlobWhoseBytesDoNotMatchItsDigestIsRefused() throws Exception {
    Path tar = layer("two", "x", "two");
    Digest d = LayerDigests.sha384(tar);
    add(Manifest.builder().addLayer(d).build());
    ImageLoader.BlobUpload up = loader.startBlob(d.toString(), 3);
    up.append("abc".getBytes(StandardCharsets.US_ASCII));
    ImageRefusedException e = assertThrows(ImageRefusedException.class, up::finish);
    assertEquals(ImageRefusedException.Reason.DIGEST_MISMATCH, e.reason());
    assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
    IllegalStateException notReady =
        assertThrows(
            IllegalStateException.class,
            () -> loader.find(add(Manifest.builder().addLayer(d).build()).imageId()));
    assertTrue(notReady.getMessage().contains("still needs layers"), notReady.getMessage());
  }

  /** Layers stack in ACON order: the last listed is on top, and instances see the merge. */
  @Test
  void theLastLayerIsOnTop() throws Exception {
    InstanceSupervisor supervisor =
        InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("sup")));
    try {
      assumeTrue(
          supervisor.isolation().namespaces() && supervisor.isolation().overlayfs(),
          "this host allows no namespaces or overlayfs");
      Path base = Files.createDirectories(tmp.resolve("base"));
      Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
      Process p =
          new ProcessBuilder(
                  "/bin/sh",
                  "-c",
                  "set -eu; root=$1; shift; for b in \"$@\"; do p=$(command -v \"$b\"); mkdir -p"
                      + " \"$root/bin\"; cp -L \"$p\" \"$root/bin/$b\"; ldd \"$p\" | grep -o '/[^"
                      + " ]*' | while read -r lib; do mkdir -p \"$root$(dirname \"$lib\")\"; cp -L"
                      + " \"$lib\" \"$root$lib\"; done; done",
                  "mkroot",
                  base.toString(),
                  "sh",
                  "curl",
                  "cat",
                  "tr",
                  "grep",
                  "cut",
                  "mktemp")
              .inheritIO()
              .start();
      assertTrue(
          p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "could not build the test rootfs");
      Files.createDirectories(base.resolve("etc"));
      Files.writeString(base.resolve("etc/which"), "bottom");
      Path baseTar = tmp.resolve("base.tar");
      LayerTar.write(base, "", baseTar);
      Path top =
          ShellRuntime.write(
              Files.createDirectories(tmp.resolve("top")), "app", "  OUT=$(cat /etc/which)");
      Files.createDirectories(top.getParent().resolve("etc"));
      Files.writeString(top.getParent().resolve("etc/which"), "top");
      Path topTar = tmp.resolve("top.tar");
      LayerTar.write(top.getParent(), "", topTar);
      Manifest m =
          Manifest.builder()
              .addLayer(LayerDigests.sha384(baseTar))
              .addLayer(LayerDigests.sha384(topTar))
              .entrypoint("/bin/sh", "/app/bootstrap")
              .workingDir("/app")
              .build();
      String id = add(m).imageId();
      upload(baseTar);
      upload(topTar);
      FunctionSpec spec = loader.find(id).orElseThrow();
      assertEquals(FunctionSpec.RootLayout.FULL_ROOTFS, spec.layout());
      InstanceOutcome r =
          supervisor
              .invoke(spec, Invocation.of(new byte[0], Duration.ofSeconds(10)))
              .get(60, TimeUnit.SECONDS);
      assertTrue(r.succeeded(), "invocation failed: " + r.failure());
      assertEquals("top", new String(r.payload(), StandardCharsets.UTF_8));
    } finally {
      supervisor.close();
    }
  }

  @Test
  void startSettingsWinOverTheOlderEnvEntriesWhichWinOverTheImagesDefaults() {
    FunctionSpec spec = FunctionSpec.builder("img", tmp, List.of("/bin/true")).build();
    List<String> rest = new java.util.ArrayList<>();
    InstanceSettings set =
        TdAgentService.settings(
            spec,
            dev.confaas.agent.v1.FunctionSettings.newBuilder().setName("orders").setTimeoutMs(9000).build(),
            List.of(
                "AWS_LAMBDA_FUNCTION_NAME=ignored",
                "AWS_LAMBDA_FUNCTION_VERSION=7",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
                "GREETING=hi"),
            rest);
    assertEquals(
        new InstanceSettings("orders", "7", 512, java.time.Duration.ofSeconds(9)), set);
    assertEquals(List.of("GREETING=hi"), rest);
    assertEquals(
        InstanceSettings.defaults(spec),
        TdAgentService.settings(
            spec, dev.confaas.agent.v1.FunctionSettings.getDefaultInstance(), List.of(), rest));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                TdAgentService.settings(
                    spec,
                    dev.confaas.agent.v1.FunctionSettings.newBuilder().setMemoryMb(8).build(),
                    List.of(),
                    rest));
    assertTrue(e.getMessage().contains("16 to 65536"), e.getMessage());
  }

  /** Inside one TD the first definition of an alias stays, as acond's symlinks do. */
  @Test
  void aLaterVendorManifestCannotRepointAnAliasInThisTd() throws Exception {
    SigningKeys vendor = SigningKeys.generate("vendor", Clock.systemUTC());
    Digest a = Digest.sha384("layer a".getBytes(StandardCharsets.US_ASCII));
    Digest b = Digest.sha384("layer b".getBytes(StandardCharsets.US_ASCII));
    dev.confaas.image.NameSvn name = dev.confaas.image.NameSvn.parse("Runtime:1");
    for (Digest target : List.of(a, b)) {
      Manifest v = Manifest.builder().addLayer(target).contentAlias(target, name).build();
      SignedManifest s = vendor.signer().signed(v);
      loader.addManifest(v.canonicalBytes(), s.signature(), s.certificateDer());
    }
    Manifest fn =
        Manifest.builder().addLayer(dev.confaas.image.AliasRef.of(vendor.signerId(), name)).build();
    ImageLoader.AddedManifest added = add(fn);
    assertEquals(List.of(a.toString()), added.missingLayers(), "the alias moved inside the TD");
    ImageLoader.ImageStatus status =
        loader.images().stream()
            .filter(i -> i.imageId().equals(added.imageId()))
            .findFirst()
            .orElseThrow();
    assertEquals(List.of(a.toString()), status.layers());
    assertEquals(List.of(a.toString()), status.missingLayers());
  }

  // --- limits (issue 11, defect 10: tar bombs) --------------------------------------------------

  private static final int MIB = 1 << 20;
  private static final ImageLimits SMALL =
      ImageLimits.builder()
          .maxLayerBytes(2 * MIB)
          .maxImageBytes(3 * MIB)
          .maxLayerEntries(10)
          .maxManifestBytes(16 * 1024)
          .build();

  private AconImageLoader limited() throws Exception {
    return new AconImageLoader(tmp.resolve("limited"), tdx, SMALL);
  }

  private static String upload(ImageLoader l, byte[] blob) throws Exception {
    ImageLoader.BlobUpload up = l.startBlob(Digest.sha384(blob).toString(), blob.length);
    up.append(blob);
    return up.finish();
  }

  private static ImageLoader.AddedManifest add(ImageLoader l, Manifest m) throws Exception {
    SignedManifest s = author.signer().signed(m);
    return l.addManifest(m.canonicalBytes(), s.signature(), s.certificateDer());
  }

  /** A layer with {@code files} files of {@code size} zero bytes each. */
  private byte[] layerOf(String name, int files, int size) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    for (int i = 0; i < files; i++) {
      Files.write(dir.resolve("f" + i), new byte[size]);
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    LayerTar.write(dir, "", out);
    return out.toByteArray();
  }

  private void assertNothingLeft(String why) throws Exception {
    try (Stream<Path> s = Files.list(tmp.resolve("limited/uploads"))) {
      assertEquals(List.of(), s.toList(), why + ": an upload file was left");
    }
    try (Stream<Path> s = Files.list(tmp.resolve("limited/layers"))) {
      assertEquals(List.of(), s.toList(), why + ": a layer directory was left");
    }
  }

  @Test
  void aGzipBombBlobIsRefusedWhileUnpackingAndLeavesNothing() throws Exception {
    AconImageLoader l = limited();
    byte[] tar = layerOf("bomb", 1, 8 * MIB);
    java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream g = new java.util.zip.GZIPOutputStream(gz)) {
      g.write(tar);
    }
    byte[] bomb = gz.toByteArray(); // ~8 KB; the author signed its raw digest
    String id = add(l, Manifest.builder().addLayer(Digest.sha384(bomb)).build()).imageId();
    ImageRefusedException e = assertThrows(ImageRefusedException.class, () -> upload(l, bomb));
    assertEquals(ImageRefusedException.Reason.MALFORMED, e.reason());
    assertTrue(
        e.getMessage().contains("expands past 2 MiB (limit image.maxLayerBytes); refused after"),
        e.getMessage());
    assertNothingLeft("a refused bomb");
    assertEquals(
        List.of(Digest.sha384(bomb).toString()),
        l.images().stream().filter(i -> i.imageId().equals(id)).findFirst().orElseThrow()
            .missingLayers());
  }

  @Test
  void aBlobOverTheLayerLimitIsRefusedAsItArrives() throws Exception {
    AconImageLoader l = limited();
    byte[] big = layerOf("big", 1, 3 * MIB);
    Digest d = Digest.sha384(big);
    add(l, Manifest.builder().addLayer(d).build());
    ImageRefusedException declared =
        assertThrows(ImageRefusedException.class, () -> l.startBlob(d.toString(), big.length));
    assertTrue(declared.getMessage().contains("(limit image.maxLayerBytes)"));

    ImageLoader.BlobUpload up = l.startBlob(d.toString(), 2 * MIB);
    up.append(java.util.Arrays.copyOf(big, 2 * MIB));
    ImageRefusedException streamed =
        assertThrows(
            ImageRefusedException.class,
            () -> up.append(java.util.Arrays.copyOfRange(big, 2 * MIB, 2 * MIB + 1)));
    assertTrue(
        streamed.getMessage().contains("refused after " + (2 * MIB + 1) + " bytes"),
        streamed.getMessage());
    assertNothingLeft("a blob cut off at the limit");
  }

  @Test
  void aLayerWithTooManyEntriesIsRefused() throws Exception {
    AconImageLoader l = limited();
    byte[] many = layerOf("many", 11, 1);
    add(l, Manifest.builder().addLayer(Digest.sha384(many)).build());
    ImageRefusedException e = assertThrows(ImageRefusedException.class, () -> upload(l, many));
    assertTrue(
        e.getMessage().contains("has more than 10 entries (limit image.maxLayerEntries)"),
        e.getMessage());
    assertNothingLeft("a layer with too many entries");
  }

  @Test
  void layersThatTogetherPassTheImageLimitAreRefused() throws Exception {
    AconImageLoader l = limited();
    byte[] one = layerOf("one-mib", 1, 3 * MIB / 2);
    byte[] two = layerOf("two-mib", 1, 3 * MIB / 2 + 1);
    byte[] small = layerOf("small", 1, 1000);
    // Another image shares the first layer: its own total stays small, so that layer is fine.
    add(l, Manifest.builder().addLayer(Digest.sha384(one)).addLayer(Digest.sha384(small)).build());
    add(l, Manifest.builder().addLayer(Digest.sha384(one)).addLayer(Digest.sha384(two)).build());
    assertEquals(Digest.sha384(one).toString(), upload(l, one));
    assertEquals(Digest.sha384(small).toString(), upload(l, small));
    ImageRefusedException e = assertThrows(ImageRefusedException.class, () -> upload(l, two));
    assertTrue(
        e.getMessage().contains("brings its image past 3 MiB (limit image.maxImageBytes)"),
        e.getMessage());
    try (Stream<Path> s = Files.list(tmp.resolve("limited/layers"))) {
      assertEquals(2, s.count(), "only the two accepted layers are unpacked");
    }
  }

  @Test
  void aManifestOverTheLimitIsRefusedAndNotMeasured() throws Exception {
    AconImageLoader l = limited();
    Manifest m = Manifest.builder().addEnv("PAD=" + "x".repeat(20_000)).build();
    ImageRefusedException e = assertThrows(ImageRefusedException.class, () -> add(l, m));
    assertEquals(ImageRefusedException.Reason.MALFORMED, e.reason());
    assertTrue(
        e.getMessage().contains("manifest is larger than 16 KiB (limit image.maxManifestBytes)"),
        e.getMessage());
    assertEquals(List.of(), l.rtmr3Log().lines(), "a refused manifest was measured");
  }
}
