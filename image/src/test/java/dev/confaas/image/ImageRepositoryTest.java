package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageRepositoryTest {
  @TempDir Path dir;

  SignedManifest signedImage(SigningKeys keys, Digest layer, String name) {
    Manifest m =
        Manifest.builder()
            .addLayer(layer)
            .entrypoint("/fn/run")
            .selfAlias(NameSvn.parse(name + ":1"))
            .build();
    return keys.signer().signed(m);
  }

  @Test
  void storesBlobsUncompressedByDigestAndVerifiesPromisedDigests() throws Exception {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"));
    byte[] tar = new TarBuilder().file("hello.txt", "hi").build();
    Digest d = repo.putBlob(new ByteArrayInputStream(TarBuilder.gzip(tar)));
    assertEquals(Digest.sha384(tar), d, "digest is of the uncompressed tar");
    assertTrue(repo.hasBlob(d));
    try (InputStream in = repo.openBlob(d)) {
      assertArrayEquals(tar, in.readAllBytes(), "stored uncompressed");
    }
    assertEquals(d, repo.putBlob(new ByteArrayInputStream(tar)), "idempotent");

    Digest wrong = Digest.sha384(new byte[] {1});
    LayerException e =
        assertThrows(
            LayerException.class, () -> repo.putBlob(wrong, new ByteArrayInputStream(tar)));
    assertTrue(e.getMessage().contains("not the expected " + wrong), e.getMessage());
    assertFalse(repo.hasBlob(wrong));
    assertTmpEmpty(repo);
    Digest sha256 = Digest.of(HashAlgorithm.SHA256, tar);
    repo.putBlob(sha256, new ByteArrayInputStream(tar));
    assertTrue(repo.hasBlob(sha256), "other hash algorithms are stored under their own name");
  }

  @Test
  void storesVerifiedImagesByIdAndNames() throws Exception {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"));
    SigningKeys keys = SigningKeys.generate("author", SigningTest.CLOCK);
    Digest layer = repo.putBlob(new ByteArrayInputStream(new TarBuilder().file("f", "x").build()));
    SignedManifest a = signedImage(keys, layer, "a");
    SignedManifest b = signedImage(keys, Digest.sha384(new byte[] {9}), "b");
    ImageId ida = repo.putImage(a);
    ImageId idb = repo.putImage(b);
    assertEquals(a.imageId(), ida);
    assertEquals(
        List.of(ida, idb).stream().sorted((x, y) -> x.toString().compareTo(y.toString())).toList(),
        repo.listImages());
    SignedManifest back = repo.getImage(ida).orElseThrow();
    assertArrayEquals(a.manifest().bytes(), back.manifest().bytes());
    assertArrayEquals(a.signature(), back.signature());
    assertEquals(List.of(), repo.missingBlobs(a.manifest()));
    assertEquals(List.of(Digest.sha384(new byte[] {9})), repo.missingBlobs(b.manifest()));

    repo.tag("hello", ida);
    repo.tag("hello", idb);
    assertEquals(idb, repo.lookup("hello").orElseThrow(), "a name points at its latest image");
    assertEquals(Map.of("hello", idb), repo.names());
    assertThrows(IllegalArgumentException.class, () -> repo.tag("../etc", ida));
    assertTrue(
        ImageRepository.open(dir.resolve("repo")).getImage(idb).isPresent(), "survives reopen");
  }

  @Test
  void refusesBadSignaturesAndNoticesTamperingOnDisk() throws Exception {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"));
    SigningKeys keys = SigningKeys.generate("author", SigningTest.CLOCK);
    SignedManifest good = signedImage(keys, Digest.sha384(new byte[0]), "t");
    byte[] sig = good.signature();
    sig[sig.length - 1] ^= 1;
    SignedManifest bad = SignedManifest.of(good.manifest(), sig, good.certificateDer());
    assertThrows(ImageVerificationException.class, () -> repo.putImage(bad));
    assertEquals(List.of(), repo.listImages(), "nothing stored");
    assertTmpEmpty(repo);

    ImageId id = repo.putImage(good);
    Path stored =
        repo.root().resolve("images/sha384").resolve(id.signerId().hex()).resolve(id.manifestHex());
    Files.writeString(stored.resolve("manifest.json"), "{\"aconSpecVersion\":[1,0]}");
    ImageVerificationException e =
        assertThrows(ImageVerificationException.class, () -> repo.getImage(id));
    assertTrue(e.getMessage().contains("the repository was altered"), e.getMessage());
  }

  @Test
  void unfinishedWritesAreInvisibleAndClearedOnOpenOnceStale() throws Exception {
    ImageRepository repo = ImageRepository.open(dir.resolve("repo"));
    // What a crash mid-write leaves behind: a temp blob and a temp image directory.
    Files.writeString(repo.root().resolve("tmp/1234.part"), "half a blob");
    Files.createDirectories(repo.root().resolve("tmp/abcd"));
    Files.writeString(repo.root().resolve("tmp/abcd/manifest.json"), "{");
    assertEquals(List.of(), repo.listImages());
    java.time.Clock later =
        java.time.Clock.offset(
            java.time.Clock.systemUTC(), ImageRepository.STALE_TEMP_AGE.plusMinutes(1));
    ImageRepository reopened = ImageRepository.open(repo.root(), repo.limits(), later);
    assertTmpEmpty(reopened);
  }

  static void assertTmpEmpty(ImageRepository repo) throws IOException {
    try (Stream<Path> s = Files.list(repo.root().resolve("tmp"))) {
      assertEquals(List.of(), s.toList(), "tmp/ should be empty");
    }
  }
}
