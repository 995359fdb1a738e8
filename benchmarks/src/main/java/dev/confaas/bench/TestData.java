package dev.confaas.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the project's test resources from the working directory upward. */
final class TestData {
  private TestData() {}

  /** {@code relative} (a file or directory) under the first ancestor of the working directory holding it. */
  static Path find(Path relative) {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.exists(d.resolve(relative))) {
        return d.resolve(relative);
      }
    }
    throw new IllegalStateException(
        "cannot find " + relative + " above the working directory " + Path.of("").toAbsolutePath()
            + "; run the benchmarks from the ConFaaS checkout");
  }
}
