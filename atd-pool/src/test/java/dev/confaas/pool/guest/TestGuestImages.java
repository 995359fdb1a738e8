package dev.confaas.pool.guest;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The guest image the tests boot, built once per test JVM from this build's agent (the test class
 * path) and the host's packages, into {@code target/} (the jlinked JRE is cached there too).
 */
public final class TestGuestImages {
  private static GuestImage built;

  private TestGuestImages() {}

  /** Where the tests keep their images and the JRE cache: this module's {@code target/}. */
  public static Path workDir() {
    return Path.of("target", "guest-image-test").toAbsolutePath();
  }

  public static GuestImageBuilder builder() {
    return GuestImageBuilder.forAgent(
        GuestImageBuilder.agentClassPathOfThisJvm(), workDir().resolve("cache"));
  }

  /**
   * Fails (as root, who can install them with {@code bin/ensure-debian-packages --tests}) or skips
   * the test when QEMU or the cloud kernel is missing.
   */
  public static void requirePackages() {
    String missing = null;
    if (!java.nio.file.Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64"))) {
      missing = "qemu-system-x86";
    } else {
      try {
        GuestImageBuilder.debianCloudKernel();
      } catch (IOException e) {
        missing = "linux-image-cloud-amd64";
      }
    }
    if (missing != null) {
      String why =
          "the Debian package " + missing + " is missing: run bin/ensure-debian-packages --tests";
      if ("root".equals(System.getProperty("user.name"))) {
        org.junit.jupiter.api.Assertions.fail(why);
      }
      org.junit.jupiter.api.Assumptions.assumeTrue(false, why);
    }
  }

  public static synchronized GuestImage image() throws IOException {
    requirePackages();
    if (built == null) {
      built = builder().build(workDir().resolve("a"));
    }
    return built;
  }
}
