package dev.confaas.platform;

import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;

/**
 * A signing key kept in a directory as {@code NAME.key.pem} (PKCS#8, mode 0600) and {@code
 * NAME.cert.der}, created on first use: the platform's vendor key, the sample author's key, the
 * CLI's default author key.
 */
public final class SigningKeyFiles {
  private SigningKeyFiles() {}

  /** The key and whether this call created it. */
  public record Loaded(SigningKeys keys, boolean created, Path keyFile, Path certFile) {}

  /**
   * Loads {@code dir/NAME.key.pem} + {@code dir/NAME.cert.der}, or generates a P-384 key with a
   * self-signed certificate named {@code commonName} and stores it there first.
   */
  public static Loaded loadOrCreate(Path dir, String name, String commonName, Clock clock)
      throws IOException {
    Path keyFile = dir.resolve(name + ".key.pem");
    Path certFile = dir.resolve(name + ".cert.der");
    if (Files.exists(keyFile) && Files.exists(certFile)) {
      try {
        return new Loaded(
            SigningKeys.of(
                SigningKeys.readPrivateKeyPem(Files.readAllBytes(keyFile)),
                Files.readAllBytes(certFile)),
            false,
            keyFile,
            certFile);
      } catch (IllegalArgumentException e) {
        throw new IOException(
            "signing key " + keyFile + " or its certificate is unreadable (" + e.getMessage()
                + "); restore it, or delete both files to make a new key",
            e);
      }
    }
    SigningKeys keys = SigningKeys.generate(commonName, clock);
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".key-", ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException noPosix) {
        // not a POSIX file system: the directory's protection is all there is
      }
      Files.write(tmp, keys.privateKeyPem().getBytes(StandardCharsets.US_ASCII));
      Files.write(certFile, keys.certificateDer());
      Files.move(tmp, keyFile, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return new Loaded(keys, true, keyFile, certFile);
  }
}
