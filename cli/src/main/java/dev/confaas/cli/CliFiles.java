package dev.confaas.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/** File access for commands, with errors that say which file and what to do. */
final class CliFiles {
  private CliFiles() {}

  /** Reads {@code p}; {@code what} names it in errors ("certificate", "signature", ...). */
  static byte[] read(Path p, String what) {
    try {
      return Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      throw new Main.CliException("cannot read " + what + " " + p + ": no such file");
    } catch (AccessDeniedException e) {
      throw new Main.CliException("cannot read " + what + " " + p + ": permission denied");
    } catch (IOException e) {
      throw new Main.CliException("cannot read " + what + " " + p + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes {@code data} to {@code p} via a temporary file and a rename, so it is never
   * half-written.
   */
  static void write(Path p, byte[] data, String what) {
    try {
      Path parent = p.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = Files.createTempFile(parent, "." + p.getFileName(), ".part");
      try {
        Files.write(tmp, data, StandardOpenOption.TRUNCATE_EXISTING);
        try {
          // Manifests, signatures and certificates are public; temp files start as 0600.
          Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException noPosix) {
          // non-POSIX file system: keep its default
        }
        Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new Main.CliException("cannot write " + what + " " + p + ": " + e.getMessage(), e);
    }
  }

  static void mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new Main.CliException("cannot create directory " + dir + ": " + e.getMessage(), e);
    }
  }
}
