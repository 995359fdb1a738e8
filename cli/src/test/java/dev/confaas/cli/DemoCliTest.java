package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.ImageId;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCliTest {
  @TempDir Path dir;

  @Test
  void demoBuildsSignsVerifiesAndRejectsTheTamperedCopy() {
    CliRun r = CliRun.of("demo", "--dir", dir.toString());
    assertEquals(0, r.code, r.toString());
    assertTrue(r.out.contains("verified: sha384/"), r.out);
    assertTrue(r.out.contains("signature does not verify"), r.out);
    assertTrue(r.out.contains("-> rejected (exit 1)"), r.out);
    assertTrue(Files.exists(dir.resolve("build/manifest.json.sig")));
    String idLine =
        r.out
            .lines()
            .filter(l -> l.trim().matches("sha384/[0-9a-f]{96}/[0-9a-f]{96}"))
            .findFirst()
            .orElseThrow();
    ImageId id = ImageId.parse(idLine.trim());
    CliRun again =
        CliRun.of(
            "image",
            "id",
            dir.resolve("build/manifest.json").toString(),
            "--cert",
            dir.resolve("keys/author.cert.der").toString());
    assertEquals(id.toString() + "\n", again.out, "the demo printed the real image ID");
  }
}
