package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** confaas.reference.yaml documents exactly the keys the code knows, with the code's defaults. */
class SettingsReferenceTest {
  @TempDir Path data;

  /** section.key to the value as written. */
  private static Map<String, String> referenceValues() throws IOException {
    JsonNode root = new YAMLMapper().readTree(Settings.referenceText());
    Map<String, String> out = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> s = root.fields(); s.hasNext(); ) {
      Map.Entry<String, JsonNode> section = s.next();
      for (Iterator<Map.Entry<String, JsonNode>> k = section.getValue().fields(); k.hasNext(); ) {
        Map.Entry<String, JsonNode> key = k.next();
        out.put(section.getKey() + "." + key.getKey(), key.getValue().asText());
      }
    }
    return out;
  }

  @Test
  void listsExactlyTheKeysTheCodeKnows() throws IOException {
    List<String> documented = new ArrayList<>(referenceValues().keySet());
    List<String> known = Settings.keys();
    List<String> undocumented = new ArrayList<>(known);
    undocumented.removeAll(documented);
    List<String> unknown = new ArrayList<>(documented);
    unknown.removeAll(known);
    assertEquals(List.of(), undocumented, "keys missing from " + Settings.REFERENCE);
    assertEquals(List.of(), unknown, "keys in " + Settings.REFERENCE + " the code does not know");
  }

  @Test
  void everyValueIsTheCodesDefaultWrittenAsTheCodeWritesIt() throws IOException {
    Map<String, String> values = referenceValues();
    for (Setting s : Settings.ALL) {
      String written = values.get(s.key());
      assertEquals(s.defaultValue(), s.parse(written), s.key() + " in " + Settings.REFERENCE);
      assertEquals(s.format(s.defaultValue()), written, s.key() + " is written oddly");
    }
  }

  @Test
  void everyKeyHasAComment() {
    String[] lines = Settings.referenceText().split("\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].startsWith("  ") && !lines[i].stripLeading().startsWith("#")) {
        assertTrue(lines[i - 1].stripLeading().startsWith("#"),
            "no comment says what this key means: " + lines[i]);
      }
    }
  }

  @Test
  void theCopyWrittenOnFirstStartChangesNothingUntilALineIsUncommented() throws IOException {
    assertTrue(Settings.writeCommentedDefaults(data));
    Path file = data.resolve(Settings.FILE_NAME);
    String written = Files.readString(file);
    assertTrue(written.contains("#  size: 2"), written);
    assertEquals(List.of(), Settings.load(data, Map.of(), Map.of()).changed());

    Files.writeString(file, written.replace("#pool:", "pool:").replace("#  size: 2", "  size: 5"));
    assertEquals(List.of("pool.size=5 (confaas.yaml)"),
        Settings.load(data, Map.of(), Map.of()).changed());

    assertFalse(Settings.writeCommentedDefaults(data), "an existing file is never overwritten");
    assertTrue(Files.readString(file).contains("  size: 5"));
  }

  @Test
  void theReferenceItselfLoadsAsAllDefaults() throws IOException {
    Files.writeString(data.resolve(Settings.FILE_NAME), Settings.referenceText());
    assertEquals(List.of(), Settings.load(data, Map.of(), Map.of()).changed());
  }
}
