package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, defect 10 ("tar bombs"): limits on layers, images and manifests, enforced while the
 * bytes stream, by the repository (deploy) and the unpacker (the TD agent). Small limits keep the
 * tests fast; the bomb itself is full size.
 */
class ImageLimitsTest {
  private static final int MIB = 1 << 20;
  private static final ImageLimits SMALL =
      ImageLimits.builder()
          .maxLayerBytes(8 * MIB)
          .maxImageBytes(12 * MIB)
          .maxLayerEntries(10)
          .maxPathBytes(100)
          .maxPathDepth(5)
          .maxManifestBytes(64 * 1024)
          .build();

  /** The layer of the report: 1.04 MB of gzip that was stored as a 1 GiB blob. */
  private static byte[] bomb;

  @TempDir Path dir;

  @BeforeAll
  static void makeBomb() throws IOException {
    bomb = GzipBomb.ofMiB(1024);
  }

  @Test
  void theBombIsWhatTheReportDescribes() throws IOException {
    assertTrue(bomb.length < 1_100_000, "the bomb is " + bomb.length + " bytes of gzip");
    // A small one made the same way is a valid gzip of a valid tar of exactly that size.
    byte[] small = GzipBomb.ofMiB(3);
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(new GZIPInputStream(new ByteArrayInputStream(small)))) {
      TarArchiveEntry e = tar.getNextEntry();
      assertEquals("zeros", e.getName());
      assertEquals(3L * MIB - 1536, tar.transferTo(OutputStream.nullOutputStream()));
      assertEquals(null, tar.getNextEntry());
    }
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(small))) {
      assertEquals(3L * MIB, in.transferTo(OutputStream.nullOutputStream()));
    }
  }

  @Test
  void aGzipBombIsRefusedWhileStoringAndLeavesNothingOnDisk() throws IOException {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"), SMALL);
    Digest claimed = Digest.sha384(new byte[] {1}); // what a deploy would name it by
    CountingInput in = new CountingInput(new ByteArrayInputStream(bomb));

    LayerException e = assertThrows(LayerException.class, () -> repo.putBlob(claimed, in));

    assertTrue(
        e.getMessage().startsWith("layer " + claimed + " expands past 8 MiB (limit"
            + " image.maxLayerBytes); refused after "),
        e.getMessage());
    long reached = Long.parseLong(
        e.getMessage().replaceAll(".*refused after ([0-9 ]+) bytes.*", "$1").replace(" ", ""));
    assertTrue(reached > 8 * MIB && reached <= 8 * MIB + 64 * 1024, "reached " + reached);
    // 8 MiB of tar is ~8 KB of this gzip; read buffers (64 KiB each) account for the rest.
    assertTrue(
        in.count < bomb.length / 4,
        "streaming stops at the limit: read " + in.count + " of " + bomb.length + " gzip bytes");
    assertFalse(repo.hasBlob(claimed));
    ImageRepositoryTest.assertTmpEmpty(repo);
    try (Stream<Path> blobs = Files.walk(repo.root().resolve("blobs"))) {
      assertEquals(0, blobs.filter(Files::isRegularFile).count(), "a blob was stored");
    }
  }

  @Test
  void noMoreThanTheLimitIsEverWrittenOut() throws IOException {
    CountingOutput out = new CountingOutput();
    LayerException e =
        assertThrows(
            LayerException.class,
            () ->
                LayerDigests.copyUncompressed(
                    new ByteArrayInputStream(bomb), out, HashAlgorithm.SHA384, SMALL));
    assertTrue(e.getMessage().contains("image.maxLayerBytes"), e.getMessage());
    assertTrue(out.count <= 8 * MIB, "wrote " + out.count + " bytes past an 8 MiB limit");
    assertTrue(out.count > 7 * MIB, "stopped early: " + out.count);
  }

  @Test
  void theUnpackerRefusesTheBombToo() throws IOException {
    Path target = Files.createDirectory(dir.resolve("rootfs"));
    Digest d = Digest.sha384(bomb);
    LayerException e =
        assertThrows(
            LayerException.class,
            () ->
                LayerUnpacker.unpack(
                    new ByteArrayInputStream(bomb),
                    target,
                    LayerUnpacker.Options.defaults().limits(SMALL).layer(d)));
    assertTrue(e.getMessage().startsWith("layer " + d + " expands past 8 MiB"), e.getMessage());
    assertTrue(Files.size(target.resolve("zeros")) <= 8 * MIB, "wrote past the limit");
  }

  @Test
  void aLayerWithTooManyEntriesIsRefused() throws IOException {
    TarBuilder b = new TarBuilder();
    for (int i = 1; i <= 11; i++) {
      b.file("f" + i, "x");
    }
    byte[] tar = b.build();
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"), SMALL);
    LayerException stored =
        assertThrows(LayerException.class, () -> repo.putBlob(new ByteArrayInputStream(tar)));
    assertEquals(
        "layer has more than 10 entries (limit image.maxLayerEntries); refused at entry 11,"
            + " \"f11\". Put fewer files in a layer, e.g. pack them in an archive the function"
            + " reads",
        stored.getMessage());
    ImageRepositoryTest.assertTmpEmpty(repo);

    LayerException unpacked = assertThrows(LayerException.class, () -> unpack(tar, SMALL));
    assertEquals(stored.getMessage(), unpacked.getMessage(), "deploy and agent say the same");

    byte[] ten = tenEntries();
    assertEquals(Digest.sha384(ten), repo.putBlob(new ByteArrayInputStream(ten)), "10 is fine");
  }

  @Test
  void tooLongPathsAndLinkTargetsAndTooDeepPathsAreRefused() throws IOException {
    String longName = "d/" + "n".repeat(99);
    byte[] longPath = new TarBuilder().file(longName, "x").build();
    LayerException e = assertThrows(LayerException.class, () -> unpack(longPath, SMALL));
    assertTrue(
        e.getMessage().contains("entry \"" + longName + "\" is 101 bytes long, more than 100"
            + " (limit image.maxPathBytes)"),
        e.getMessage());
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"), SMALL);
    assertThrows(LayerException.class, () -> repo.putBlob(new ByteArrayInputStream(longPath)));

    byte[] longLink = new TarBuilder().symlink("l", "t".repeat(101)).build();
    e = assertThrows(LayerException.class, () -> unpack(longLink, SMALL));
    assertTrue(e.getMessage().contains("link target of entry \"l\""), e.getMessage());

    byte[] deep = new TarBuilder().file("a/b/c/d/e/f", "x").build();
    e = assertThrows(LayerException.class, () -> unpack(deep, SMALL));
    assertTrue(
        e.getMessage().contains("\"a/b/c/d/e/f\" is 6 directories deep, more than 5 (limit"
            + " image.maxPathDepth)"),
        e.getMessage());
    assertEquals(1, unpack(new TarBuilder().file("./a/b/c/d/e", "x").build(), SMALL).entries());
  }

  @Test
  void aHugePaxHeaderOrGnuLongNameIsRefusedBeforeItIsHeldInMemory() throws IOException {
    String name = "x/" + "n".repeat(2 * MIB);
    String record = " path=" + name + "\n";
    int len = record.length() + 7;
    String pax = len + record;
    assertEquals(len, pax.length());
    byte[][] cases = {
      withMetaEntry(TarConstants.LF_GNUTYPE_LONGNAME, (name + "\0").getBytes(StandardCharsets.UTF_8)),
      withMetaEntry(TarConstants.LF_PAX_EXTENDED_HEADER_LC, pax.getBytes(StandardCharsets.UTF_8)),
      withMetaEntry(TarConstants.LF_PAX_GLOBAL_EXTENDED_HEADER, pax.getBytes(StandardCharsets.UTF_8))
    };
    String[] kinds = {"GNU long name", "PAX header", "global PAX header"};
    for (int i = 0; i < cases.length; i++) {
      byte[] tar = cases[i];
      LayerException e = assertThrows(LayerException.class, () -> unpack(tar, SMALL));
      assertTrue(
          e.getMessage().startsWith("layer: a tar " + kinds[i] + " after entry 0 is larger than "
              + ImageLimits.bytes(64 * 1024 + 200)),
          e.getMessage());
    }
  }

  /** A tar of one meta entry ({@code L}, {@code x}, {@code g}) with this data, then a file. */
  private static byte[] withMetaEntry(byte type, byte[] data) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    byte[] header = new byte[512];
    TarArchiveEntry meta = new TarArchiveEntry("././@LongLink", type);
    meta.setSize(data.length);
    meta.writeEntryHeader(header);
    out.write(header);
    out.write(data);
    out.write(new byte[(512 - data.length % 512) % 512]);
    TarArchiveEntry file = new TarArchiveEntry("placeholder");
    header = new byte[512];
    file.writeEntryHeader(header);
    out.write(header);
    out.write(new byte[1024]);
    return out.toByteArray();
  }

  @Test
  void layersOverTheImageLimitTogetherAreRefusedByTheUnpacker() throws IOException {
    byte[] five = new TarBuilder().file("big", new byte[5 * MIB], 0644).build();
    byte[] six = new TarBuilder().file("bigger", new byte[6 * MIB], 0644).build();
    Path target = Files.createDirectory(dir.resolve("rootfs"));
    LayerUnpacker.Result first =
        LayerUnpacker.unpack(
            new ByteArrayInputStream(five), target, LayerUnpacker.Options.defaults().limits(SMALL));
    assertEquals(five.length, first.bytes());
    LayerUnpacker.Result second =
        LayerUnpacker.unpack(
            new ByteArrayInputStream(TarBuilder.gzip(six)),
            target,
            LayerUnpacker.Options.defaults().limits(SMALL).imageBytesBefore(first.bytes()));
    assertEquals(six.length, second.bytes(), "bytes counts the uncompressed tar");

    Digest third = Digest.sha384(five);
    LayerException e =
        assertThrows(
            LayerException.class,
            () ->
                LayerUnpacker.unpack(
                    new ByteArrayInputStream(five),
                    Files.createDirectory(dir.resolve("third")),
                    LayerUnpacker.Options.defaults()
                        .limits(SMALL)
                        .layer(third)
                        .imageBytesBefore(first.bytes() + second.bytes())));
    assertTrue(
        e.getMessage().startsWith("layer " + third + " brings its image past 12 MiB (limit"
            + " image.maxImageBytes): the image's other layers have "
            + ImageLimits.bytes(first.bytes() + second.bytes())),
        e.getMessage());
  }

  @Test
  void theRepositoryChecksAnImagesLayersTogether() throws IOException {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"), SMALL);
    Digest a = repo.putBlob(new ByteArrayInputStream(
        new TarBuilder().file("a", new byte[7 * MIB], 0644).build()));
    Digest b = repo.putBlob(new ByteArrayInputStream(
        new TarBuilder().file("b", new byte[6 * MIB], 0644).build()));
    assertTrue(repo.checkImageBytes(List.of(a, a)) < 8 * MIB, "a layer listed twice counts once");
    LayerException e = assertThrows(LayerException.class, () -> repo.checkImageBytes(List.of(a, b)));
    assertTrue(e.getMessage().contains("(limit image.maxImageBytes)"), e.getMessage());
    assertTrue(e.getMessage().contains(a.toString()) && e.getMessage().contains(b.toString()));
  }

  @Test
  void aTenMegabyteManifestIsRefusedBeforeItIsParsedOrRead() throws IOException {
    byte[] big =
        ("{\"aconSpecVersion\":[1,0],\"env\":[\"PAD=" + "x".repeat(10_000_000) + "\"]}")
            .getBytes(StandardCharsets.UTF_8);
    assertEquals("10 000 040 bytes", ImageLimits.bytes(big.length));
    ManifestException e = assertThrows(ManifestException.class, () -> Manifest.parse(big));
    assertTrue(
        e.getMessage().startsWith("manifest is larger than 1 MiB (limit image.maxManifestBytes);"
            + " refused after " + ImageLimits.bytes(big.length)),
        e.getMessage());

    CountingInput in = new CountingInput(new ByteArrayInputStream(big));
    e = assertThrows(ManifestException.class, () -> SMALL.readManifest(in));
    assertTrue(e.getMessage().contains("64 KiB"), e.getMessage());
    assertTrue(in.count <= 64 * 1024 + 1, "read " + in.count + " bytes of a 10 MB manifest");

    ImageLimits roomy = ImageLimits.builder().maxManifestBytes(16 * MIB).build();
    assertEquals(1, Manifest.parse(big, roomy).env().size(), "only the limit refused it");
    byte[] ok = Manifest.builder().entrypoint("/fn/run").build().bytes();
    assertArrayEquals(ok, SMALL.readManifest(new ByteArrayInputStream(ok)));
  }

  @Test
  void theRepositoryRefusesToStoreOrLoadAManifestOverItsLimit() throws Exception {
    SigningKeys keys = SigningKeys.generate("author", SigningTest.CLOCK);
    SignedManifest signed =
        keys.signer()
            .signed(Manifest.builder().entrypoint("/fn/run").addEnv("PAD=" + "x".repeat(2000)).build());
    ImageLimits tight = ImageLimits.builder().maxManifestBytes(1000).build();
    ImageRepository small = ImageRepository.open(dir.resolve("repo"), tight);
    assertThrows(ManifestException.class, () -> small.putImage(signed));
    assertEquals(List.of(), small.listImages());

    ImageId id = ImageRepository.open(dir.resolve("repo")).putImage(signed);
    ImageVerificationException e =
        assertThrows(ImageVerificationException.class, () -> small.getImage(id));
    assertTrue(e.getMessage().contains("image.maxManifestBytes"), e.getMessage());
  }

  @Test
  void limitsComeFromSettings() {
    ImageLimits l =
        ImageLimits.fromSettings(
            Map.of(
                "image.maxLayerBytes", "512MiB",
                "image.maxImageBytes", "3 GiB",
                "image.maxLayerEntries", "5000",
                "image.maxManifestBytes", "64KiB",
                "gateway.port", "8080"));
    assertEquals(512L * MIB, l.maxLayerBytes());
    assertEquals(3L << 30, l.maxImageBytes());
    assertEquals(5000, l.maxLayerEntries());
    assertEquals(64 * 1024, l.maxManifestBytes());
    assertEquals(ImageLimits.DEFAULT_MAX_PATH_BYTES, l.maxPathBytes(), "absent keeps the default");
    assertEquals(l, ImageLimits.fromSettings(Map.of()).toBuilder()
        .maxLayerBytes(512L * MIB).maxImageBytes(3L << 30).maxLayerEntries(5000)
        .maxManifestBytes(64 * 1024).build());

    IllegalArgumentException typo =
        assertThrows(
            IllegalArgumentException.class,
            () -> ImageLimits.fromSettings(Map.of("image.maxLayerByte", "1GiB")));
    assertTrue(typo.getMessage().contains("unknown setting image.maxLayerByte"));
    IllegalArgumentException bad =
        assertThrows(
            IllegalArgumentException.class,
            () -> ImageLimits.fromSettings(Map.of("image.maxLayerBytes", "1 GB")));
    assertTrue(bad.getMessage().startsWith("image.maxLayerBytes = \"1 GB\" is not a positive size"));
    assertThrows(
        IllegalArgumentException.class,
        () -> ImageLimits.fromSettings(Map.of("image.maxPathBytes", "0")));
    assertThrows(
        IllegalArgumentException.class,
        () -> ImageLimits.fromSettings(Map.of("image.maxLayerEntries", "4GiB")));
  }

  @Test
  void staleTempFilesAreSweptAtOpenAndFreshOnesKept() throws IOException {
    Instant now = Instant.parse("2026-11-22T12:00:00Z");
    Path root = dir.resolve("repo");
    ImageRepository.open(root, SMALL, Clock.fixed(now, ZoneOffset.UTC));
    // An upload cut off by kill -9 two hours ago, an image directory from the same crash, and a
    // blob another process is writing right now.
    Path cutOff = Files.write(root.resolve("tmp/1234.part"), new byte[4096]);
    Path imageDir = Files.createDirectories(root.resolve("tmp/abcd"));
    Files.writeString(imageDir.resolve("manifest.json"), "{");
    makeOld(now, cutOff, imageDir.resolve("manifest.json"), imageDir);
    Path live = Files.write(root.resolve("tmp/5678.part"), new byte[10]);
    Files.setLastModifiedTime(live, FileTime.from(now.minus(Duration.ofMinutes(1))));

    ImageRepository.open(root, SMALL, Clock.fixed(now, ZoneOffset.UTC));
    assertEquals(List.of(live), tmpEntries(root), "only the live write is left");
  }

  @Test
  void aRunningRepositorySweepsAgainOncePerStalePeriod() throws IOException {
    Instant start = Instant.parse("2026-11-22T12:00:00Z");
    MutableClock clock = new MutableClock(start);
    Path root = dir.resolve("repo");
    ImageRepository repo = ImageRepository.open(root, SMALL, clock);
    Path cutOff = Files.write(root.resolve("tmp/1234.part"), new byte[4096]);
    makeOld(start, cutOff);
    byte[] layer = new TarBuilder().file("f", "x").build();

    clock.now = start.plus(Duration.ofMinutes(59));
    repo.putBlob(new ByteArrayInputStream(layer));
    assertEquals(List.of(cutOff), tmpEntries(root), "swept again before the period passed");

    clock.now = start.plus(ImageRepository.STALE_TEMP_AGE);
    repo.putBlob(new ByteArrayInputStream(layer));
    assertEquals(List.of(), tmpEntries(root), "the next write after the period sweeps");
  }

  @Test
  void anyWorkDirectoryCanBeSweptTheSameWay() throws IOException {
    Instant now = Instant.parse("2026-11-22T12:00:00Z");
    Path uploads = Files.createDirectories(dir.resolve("tmp/uploads"));
    Path old = Files.write(uploads.resolve("a"), new byte[1]);
    Path young = Files.write(uploads.resolve("b"), new byte[1]);
    makeOld(now, old);
    Files.setLastModifiedTime(young, FileTime.from(now.minus(Duration.ofMinutes(5))));
    Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    assertEquals(1, ImageRepository.deleteStaleFiles(uploads, Duration.ofMinutes(10), clock));
    assertEquals(List.of(young), Files.list(uploads).toList());
    assertEquals(0, ImageRepository.deleteStaleFiles(dir.resolve("absent"), Duration.ZERO, clock));
  }

  private static void makeOld(Instant now, Path... paths) throws IOException {
    for (Path p : paths) {
      Files.setLastModifiedTime(p, FileTime.from(now.minus(Duration.ofHours(2))));
    }
  }

  private static List<Path> tmpEntries(Path root) throws IOException {
    try (Stream<Path> s = Files.list(root.resolve("tmp"))) {
      return s.toList();
    }
  }

  private static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private LayerUnpacker.Result unpack(byte[] tar, ImageLimits limits) throws IOException {
    Path target = Files.createTempDirectory(dir, "rootfs");
    return LayerUnpacker.unpack(
        new ByteArrayInputStream(tar), target, LayerUnpacker.Options.defaults().limits(limits));
  }

  private static byte[] tenEntries() throws IOException {
    TarBuilder b = new TarBuilder();
    for (int i = 1; i <= 10; i++) {
      b.file("f" + i, "x");
    }
    return b.build();
  }

  /** Counts what is read from a stream. */
  private static final class CountingInput extends FilterInputStream {
    long count;

    CountingInput(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      count += b < 0 ? 0 : 1;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      count += Math.max(n, 0);
      return n;
    }
  }

  /** Counts what is written, as a file would hold it. */
  private static final class CountingOutput extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
