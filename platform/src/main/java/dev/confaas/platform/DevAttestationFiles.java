package dev.confaas.platform;

import dev.confaas.attestation.Collateral;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Supplier;

/**
 * What a caller needs to verify the process backend's simulated TDX quotes offline, written where
 * {@code confaas verify --trust-dev-root} and {@code confaas invoke --sealed} look for it: {@code
 * DATA/attestation/dev-root.pem} (the simulated PCK chain's root, NOT Intel's) and {@code
 * DATA/attestation/collateral/} (TCB Info, QE identity, CRLs issued under it). Public material only;
 * the dev PKI's private keys stay under {@code pool/}. Rewritten at start and by {@link #refresh}
 * (the collateral is valid for a day).
 */
final class DevAttestationFiles {
  static final String DIR = "attestation";
  static final String ROOT = "dev-root.pem";
  static final String COLLATERAL = "collateral";

  private final Path dir;
  private final Supplier<Collateral> collateral;

  DevAttestationFiles(Path dataDir, Supplier<Collateral> collateral) {
    this.dir = dataDir.resolve(DIR);
    this.collateral = collateral;
  }

  /** Writes fresh collateral and the root, each file replaced atomically. */
  void refresh() {
    try {
      Collateral c = collateral.get();
      Path staging = Files.createDirectories(dir).resolve(".collateral.part");
      deleteTree(staging);
      c.writeTo(staging);
      Path target = dir.resolve(COLLATERAL);
      Files.createDirectories(target);
      try (var files = Files.list(staging)) {
        for (Path f : files.toList()) {
          Files.move(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING,
              StandardCopyOption.ATOMIC_MOVE);
        }
      }
      deleteTree(staging);
      Path root = target.resolve(Collateral.TRUSTED_ROOT);
      Path part = dir.resolve("." + ROOT + ".part");
      Files.copy(root, part, StandardCopyOption.REPLACE_EXISTING);
      Files.move(part, dir.resolve(ROOT), StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the dev attestation files under " + dir, e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var s = Files.walk(p)) {
      for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }
}
