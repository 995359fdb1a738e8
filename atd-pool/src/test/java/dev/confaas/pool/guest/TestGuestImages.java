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

  public static synchronized GuestImage image() throws IOException {
    if (built == null) {
      built = builder().build(workDir().resolve("a"));
    }
    return built;
  }
}
