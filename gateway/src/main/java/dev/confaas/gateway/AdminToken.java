package dev.confaas.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The management API token: configured, else read from {@code DATA/admin.token}, else generated
 * (32 bytes from {@link SecureRandom}, base64url) and written there with mode 0600. The CLI's
 * {@code GatewayEndpoint} reads the same file.
 */
final class AdminToken {
  static final String FILE = "admin.token";

  private final String token;
  private final boolean created;

  private AdminToken(String token, boolean created) {
    this.token = token;
    this.created = created;
  }

  static AdminToken load(Path dataDir, String configured) throws IOException {
    if (configured != null) {
      if (configured.length() < 16) {
        throw new IllegalArgumentException(
            "the admin token must be at least 16 characters; leave it unset to generate one");
      }
      return new AdminToken(configured, false);
    }
    Path file = dataDir.resolve(FILE);
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (!s.isEmpty()) {
        return new AdminToken(s, false);
      }
    } catch (NoSuchFileException absent) {
      // first start: generate below
    }
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    Files.createDirectories(dataDir);
    Path part = dataDir.resolve("." + FILE + ".part");
    Files.deleteIfExists(part);
    try {
      Files.createFile(part, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException noPosix) {
      Files.createFile(part);
    } catch (FileAlreadyExistsException raced) {
      throw new IOException("another gateway is creating " + file + "; start one at a time", raced);
    }
    Files.writeString(part, token + "\n", StandardCharsets.UTF_8);
    Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return new AdminToken(token, true);
  }

  String token() {
    return token;
  }

  /** Whether this start generated it (so {@code confaas up} prints it once). */
  boolean created() {
    return created;
  }

  /** Constant-time check of a presented bearer token. */
  boolean matches(String presented) {
    return presented != null
        && MessageDigest.isEqual(
            FunctionRegistry.sha256(presented), FunctionRegistry.sha256(token));
  }
}
