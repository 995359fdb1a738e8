package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, "one corrupt functions/*.json stops the whole platform from starting": the registry
 * opens anyway, moves the unreadable file aside (kept, not read again) and says so.
 */
class FunctionRegistryQuarantineTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2025-03-01T10:11:12Z"), ZoneOffset.UTC);

  @TempDir Path data;

  private Set<String> functionFiles() throws Exception {
    try (Stream<Path> s = Files.list(data.resolve("functions"))) {
      return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void unreadableFunctionFilesAreMovedAsideReportedAndTheRegistryOpens() throws Exception {
    Path functions = Files.createDirectories(data.resolve("functions"));
    Files.writeString(functions.resolve("broken.json"), "{\"name\": \"broken\", \"versi");
    Files.writeString(functions.resolve("empty.json"), "");
    Files.writeString(functions.resolve("wrong.json"), "{\"name\": \"wrong\"}");

    FunctionRegistry r = FunctionRegistry.open(data, CLOCK);

    assertTrue(r.list().isEmpty(), "nothing readable was deployed");
    List<String> q = r.quarantined();
    assertEquals(3, q.size(), q.toString());
    String broken = q.stream().filter(m -> m.contains("broken.json")).findFirst().orElseThrow();
    assertTrue(broken.contains("moved it to broken.json.corrupt-20250301T101112Z"), broken);
    assertTrue(broken.contains("without function 'broken'"), broken);
    assertTrue(broken.contains("deploy the function again"), "says what to do: " + broken);
    assertEquals(Set.of("broken.json.corrupt-20250301T101112Z", "empty.json.corrupt-20250301T101112Z",
        "wrong.json.corrupt-20250301T101112Z"), functionFiles());

    // Opened again (a restart): the files moved aside are not read, and nothing is reported.
    Files.writeString(functions.resolve("broken.json"), "still {");
    FunctionRegistry again = FunctionRegistry.open(data, CLOCK);
    assertEquals(1, again.quarantined().size(), again.quarantined().toString());
    assertTrue(functionFiles().contains("broken.json.corrupt-20250301T101112Z-2"),
        "a second quarantine in the same second keeps the first: " + functionFiles());
    assertFalse(functionFiles().contains("broken.json"));
    assertTrue(FunctionRegistry.open(data, CLOCK).quarantined().isEmpty());
  }
}
