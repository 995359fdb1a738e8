package dev.confaas.attestation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/** The real quote sets under src/test/resources/tdx (see the README there for provenance). */
final class TestVectors {
  static final Instant GO_V4_TIME = Instant.parse("2023-07-01T01:00:00Z");
  static final Instant GO_V5_TIME = Instant.parse("2026-02-03T01:00:00Z");
  static final Instant LUNAL_TIME = Instant.parse("2026-04-01T00:00:00Z");

  private TestVectors() {}

  static Path dir(String set) {
    try {
      return Path.of(TestVectors.class.getResource("/tdx/" + set).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] quote(String set) {
    try {
      return Files.readAllBytes(dir(set).resolve("quote.dat"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Collateral collateral(String set) {
    return Collateral.load(dir(set));
  }

  static Clock at(Instant t) {
    return Clock.fixed(t, ZoneOffset.UTC);
  }
}
