package dev.confaas.attestation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Quotes through the Linux configfs-tsm interface ({@code Documentation/ABI/testing/configfs-tsm}):
 * create {@code <report-root>/<name>/}, write 64 bytes of REPORTDATA to {@code inblob}, read the
 * quote from {@code outblob}, and compare {@code generation} before and after so that a concurrent
 * writer cannot hand us a quote over someone else's data. {@code provider} must read {@code
 * tdx_guest}.
 *
 * <p>Runs for real only inside a TDX guest with configfs mounted; tests point it at a directory
 * tree that mimics the files.
 */
final class ConfigfsTsmQuotes {
  private final Path reportRoot;
  private final Supplier<String> names;

  ConfigfsTsmQuotes(Path reportRoot, Supplier<String> names) {
    this.reportRoot = reportRoot;
    this.names = names;
  }

  byte[] quote(byte[] reportData) {
    if (reportData.length != ReportData.SIZE) {
      throw new IllegalArgumentException("REPORTDATA is 64 bytes, got " + reportData.length);
    }
    Path dir = reportRoot.resolve(names.get());
    try {
      Files.createDirectories(dir);
      try {
        String provider =
            Files.readString(dir.resolve("provider"), StandardCharsets.US_ASCII).strip();
        if (!provider.equals("tdx_guest")) {
          throw new IllegalStateException(
              "configfs-tsm provider at "
                  + dir
                  + " is '"
                  + provider
                  + "', not tdx_guest: not a TDX guest");
        }
        Files.write(dir.resolve("inblob"), reportData);
        long before = generation(dir);
        byte[] quote = Files.readAllBytes(dir.resolve("outblob"));
        long after = generation(dir);
        if (before != after) {
          throw new IllegalStateException(
              "configfs-tsm report "
                  + dir
                  + " was rewritten while reading the quote (generation "
                  + before
                  + " -> "
                  + after
                  + "); another process uses the same report name");
        }
        byte[] quoted = TdxQuote.parse(quote).report().reportData();
        if (!Arrays.equals(quoted, reportData)) {
          throw new IllegalStateException(
              "configfs-tsm returned a quote over different REPORTDATA than written to " + dir);
        }
        return quote;
      } finally {
        try {
          Files.deleteIfExists(dir); // configfs: rmdir releases the report
        } catch (DirectoryNotEmptyException e) {
          // a plain directory (not configfs): leave it
        }
      }
    } catch (NoSuchFileException e) {
      throw new IllegalStateException(
          "configfs-tsm report "
              + dir
              + " lacks "
              + e.getFile()
              + ": is configfs mounted and the"
              + " tdx_guest driver loaded?",
          e);
    } catch (IOException e) {
      throw new UncheckedIOException("configfs-tsm quote through " + dir + " failed", e);
    }
  }

  private static long generation(Path dir) throws IOException {
    String g = Files.readString(dir.resolve("generation"), StandardCharsets.US_ASCII).strip();
    try {
      return Long.parseLong(g);
    } catch (NumberFormatException e) {
      throw new IllegalStateException(
          "configfs-tsm generation in " + dir + " is not a number: " + g);
    }
  }
}
