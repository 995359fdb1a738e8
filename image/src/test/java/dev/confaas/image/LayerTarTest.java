package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerTarTest {
  @TempDir Path tmp;

  Path tree(String name) throws IOException {
    Path d = Files.createDirectories(tmp.resolve(name));
    Files.createDirectories(d.resolve("lib/py"));
    Files.writeString(d.resolve("handler.py"), "def handle(e): return e\n");
    Files.writeString(d.resolve("lib/py/util.py"), "X = 1\n");
    Files.writeString(d.resolve("run"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(d.resolve("run"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.writeString(
        d.resolve("caf\u00e9-" + "long".repeat(40) + ".txt"), "unicode and long name");
    Files.createSymbolicLink(d.resolve("latest"), Path.of("lib/py/util.py"));
    return d;
  }

  @Test
  void sameTreeGivesSameBytesRegardlessOfTimesAndCreationOrder() throws IOException {
    Path a = tree("a");
    Path b = tree("b");
    Files.setLastModifiedTime(b.resolve("handler.py"), FileTime.fromMillis(123456789000L));
    ByteArrayOutputStream ta = new ByteArrayOutputStream();
    ByteArrayOutputStream tb = new ByteArrayOutputStream();
    Digest da = LayerTar.write(a, "fn", ta);
    Digest db = LayerTar.write(b, "fn", tb);
    assertEquals(da, db, "layer digest depends only on content");
    assertEquals(Digest.sha384(ta.toByteArray()), da, "returned digest is of the bytes written");
    Files.writeString(b.resolve("handler.py"), "changed");
    assertNotEquals(da, LayerTar.write(b, "fn", new ByteArrayOutputStream()));
  }

  @Test
  void entriesAreSortedFixedAndKeepModes() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LayerTar.write(tree("t"), "fn/", out);
    List<String> names = new ArrayList<>();
    try (TarArchiveInputStream in =
        new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        names.add(e.getName());
        assertEquals(0, e.getLastModifiedDate().getTime(), e.getName());
        assertEquals(0, e.getLongUserId(), e.getName());
        assertEquals("", e.getUserName(), e.getName());
        if (e.getName().equals("fn/run")) {
          assertEquals(0750, e.getMode() & 07777);
        }
        if (e.getName().equals("fn/latest")) {
          assertEquals("lib/py/util.py", e.getLinkName());
        }
      }
    }
    assertEquals("fn/", names.get(0));
    List<String> sorted = new ArrayList<>(names);
    sorted.sort(
        (x, y) ->
            java.util.Arrays.compareUnsigned(
                x.replaceAll("/$", "").getBytes(java.nio.charset.StandardCharsets.UTF_8),
                y.replaceAll("/$", "").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertEquals(sorted, names);
  }

  @Test
  void gzipAndPlainTarHaveTheSameLayerDigest() throws IOException {
    byte[] tar = new TarBuilder().file("a", "b").build();
    Path plain = Files.write(tmp.resolve("l.tar"), tar);
    Path gz = Files.write(tmp.resolve("l.tar.gz"), TarBuilder.gzip(tar));
    assertEquals(Digest.sha384(tar), LayerDigests.sha384(plain));
    assertEquals(Digest.sha384(tar), LayerDigests.sha384(gz));
  }

  @Test
  void unpackingAWrittenLayerRestoresTheTree() throws IOException {
    Path src = tree("src");
    Path tarFile = tmp.resolve("layer.tar");
    LayerTar.write(src, "", tarFile);
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    LayerUnpacker.unpack(tarFile, dst);
    assertEquals(
        Files.readString(src.resolve("handler.py")), Files.readString(dst.resolve("handler.py")));
    assertEquals("rwxr-x---", LayerUnpackerTest.perms(dst.resolve("run")));
    assertEquals(Path.of("lib/py/util.py"), Files.readSymbolicLink(dst.resolve("latest")));
    assertEquals(
        LayerTar.write(src, "", new ByteArrayOutputStream()),
        LayerTar.write(dst, "", new ByteArrayOutputStream()));
  }
}
