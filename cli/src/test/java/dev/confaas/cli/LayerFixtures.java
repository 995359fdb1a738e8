package dev.confaas.cli;

import dev.confaas.image.Digest;
import dev.confaas.image.HashAlgorithm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Small real tars and OCI blobs for CLI tests. */
final class LayerFixtures {
  private LayerFixtures() {}

  static byte[] tar(String name, String content) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
      byte[] b = content.getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry(name);
      e.setSize(b.length);
      t.putArchiveEntry(e);
      t.write(b);
      t.closeArchiveEntry();
    }
    return out.toByteArray();
  }

  /** Stores {@code b} under blobs/sha256/ of an OCI layout; returns its OCI digest. */
  static String blob(Path layout, byte[] b) throws IOException {
    String hex = Digest.of(HashAlgorithm.SHA256, b).hex();
    Files.createDirectories(layout.resolve("blobs/sha256"));
    Files.write(layout.resolve("blobs/sha256").resolve(hex), b);
    return "sha256:" + hex;
  }
}
