package dev.confaas.vendor;

import dev.confaas.image.Digest;
import dev.confaas.image.LayerRef;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Real keys, real tar layers and signed manifests for the vendor-layers tests. */
final class Fixtures {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  private static final Map<String, SigningKeys> KEYS = new ConcurrentHashMap<>();

  private Fixtures() {}

  /** A P-384 key and self-signed certificate per vendor name, generated once per test run. */
  static SigningKeys keys(String vendor) {
    return KEYS.computeIfAbsent(vendor, v -> SigningKeys.generate(v, CLOCK));
  }

  /** Writes an uncompressed tar holding {@code files} (path to text) and returns its path. */
  static Path tar(Path dir, String name, Map<String, String> files) throws IOException {
    Path out = dir.resolve(name + ".tar");
    try (OutputStream os = Files.newOutputStream(out);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
      for (Map.Entry<String, String> f : files.entrySet()) {
        byte[] data = f.getValue().getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(f.getKey());
        e.setSize(data.length);
        e.setMode(0644);
        e.setModTime(0);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
      }
    }
    return out;
  }

  static Digest digestOf(Path file) throws IOException {
    return Digest.sha384(Files.readAllBytes(file));
  }

  /** A vendor manifest listing {@code layer} and aliasing it as each of {@code names}. */
  static SignedManifest vendorManifest(String vendor, LayerRef layer, String... names) {
    Manifest.Builder b = Manifest.builder();
    if (layer instanceof Digest) {
      b.addLayer(layer);
    }
    for (String n : names) {
      b.contentAlias(layer, NameSvn.parse(n));
    }
    return keys(vendor).signer().signed(b.build());
  }
}
