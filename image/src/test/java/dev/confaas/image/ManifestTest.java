package dev.confaas.image;

import static dev.confaas.image.CanonicalJsonTest.str;
import static dev.confaas.image.CanonicalJsonTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ManifestTest {
  static final String L1 =
      "sha384/abababababababababababababababababababababababababababababababababababababababababababababababab";
  static final String L2 =
      "sha384/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
  static final String SIGNER =
      "sha384/121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212";

  @Test
  void parsesEveryAconField() {
    String json =
        "{\n"
            + "  \"aconSpecVersion\": [1, 0],\n"
            + "  \"layers\": [\"signer/"
            + SIGNER
            + "/python:3\", \""
            + L1
            + "\"],\n"
            + "  \"aliases\": {\"contents\": {\""
            + L1
            + "\": [\"fn:2\", \"fn:1\"]},"
            + " \"self\": {\".\": [\"Product:4\"]}},\n"
            + "  \"entrypoint\": [\"/bin/app\", \"--serve\"],\n"
            + "  \"env\": [\"PATH=/bin\", \"HTTPS_PROXY\", \"MODE=\"],\n"
            + "  \"workingDir\": \"/srv\",\n"
            + "  \"uids\": [101, 201],\n"
            + "  \"logFDs\": [1, 2],\n"
            + "  \"writableFS\": true,\n"
            + "  \"noRestart\": true,\n"
            + "  \"signals\": [-15, 19],\n"
            + "  \"maxInstances\": 0,\n"
            + "  \"policy\": {\"accepts\": [\""
            + SIGNER
            + "/Product:2\", \""
            + SIGNER
            + "/*\"],"
            + " \"rejectUnaccepted\": true}\n"
            + "}\n";
    Manifest m = Manifest.parse(utf8(json));
    assertEquals(List.of(1, 0), m.aconSpecVersion());
    AliasRef vendor = assertInstanceOf(AliasRef.class, m.layers().get(0));
    assertEquals("python", vendor.name());
    assertEquals(3, vendor.svn());
    assertEquals(SIGNER, vendor.signerId().toString());
    assertEquals(Digest.parse(L1), m.layers().get(1));
    assertEquals(
        List.of(NameSvn.parse("fn:2"), NameSvn.parse("fn:1")),
        m.aliases().contents().get(Digest.parse(L1)));
    assertEquals(List.of(NameSvn.of("Product", 4)), m.aliases().self());
    assertEquals(List.of("/bin/app", "--serve"), m.entrypoint());
    assertEquals(List.of("PATH=/bin", "HTTPS_PROXY", "MODE="), m.env());
    assertEquals("/srv", m.workingDir());
    assertEquals(List.of(101L, 201L), m.uids());
    assertEquals(List.of(1, 2), m.logFDs());
    assertTrue(m.writableFS());
    assertTrue(m.noRestart());
    assertEquals(List.of(-15, 19), m.signals());
    assertEquals(0, m.maxInstances());
    assertEquals(List.of(SIGNER + "/Product:2", SIGNER + "/*"), m.policy().accepts());
    assertTrue(m.policy().rejectUnaccepted());
    assertArrayEquals(utf8(json), m.bytes(), "bytes are kept as authored");
    assertArrayEquals(CanonicalJson.canonicalize(utf8(json)), m.canonicalBytes());
  }

  @Test
  void absentFieldsTakeAconDefaults() {
    Manifest m = Manifest.parse(utf8("{\"aconSpecVersion\":[1,3]}"));
    assertEquals(3, m.specMinor());
    assertEquals(List.of(), m.layers());
    assertEquals(List.of(), m.signals());
    assertEquals(1, m.maxInstances());
    assertEquals("/", m.workingDir());
    assertFalse(m.writableFS());
    assertFalse(m.noRestart());
    assertFalse(m.policy().rejectUnaccepted());
    assertEquals(List.of(), m.policy().accepts());
    assertTrue(m.aliases().contents().isEmpty());
    assertEquals(List.of(), m.aliases().self());
  }

  @Test
  void canonicalFormHashesTheAuthoredBytesNotTheModel() {
    // Same manifest, different spelling: 1.0 vs 1, key order, whitespace → same canonical bytes.
    Manifest a = Manifest.parse(utf8("{\"maxInstances\": 2.0, \"aconSpecVersion\": [1, 0]}"));
    Manifest b = Manifest.parse(utf8("{\"aconSpecVersion\":[1,0],\"maxInstances\":2}"));
    assertEquals(str(b.canonicalBytes()), str(a.canonicalBytes()));
    assertEquals("{\"aconSpecVersion\":[1,0],\"maxInstances\":2}", str(a.canonicalBytes()));
    // Defaults are not written into the canonical form: an absent field stays absent.
    assertFalse(str(a.canonicalBytes()).contains("writableFS"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"aconSpecVersion\":[2,0]}|aconSpecVersion: major version 2 is not supported",
        "{}|aconSpecVersion: missing",
        "{\"aconSpecVersion\":[1]}|aconSpecVersion: expected [MAJOR, MINOR]",
        "{\"aconSpecVersion\":[1,0],\"layers\":[\""
            + L1
            + "\",\""
            + L2
            + "\",\"sha1/ab\"]}"
            + "|layers[2]: \"sha1/ab\" is not a layer reference: ",
        "{\"aconSpecVersion\":[1,0],\"layers\":[\"sha384/ABCD\"]}|layers[0]: ",
        "{\"aconSpecVersion\":[1,0],\"layers\":[\""
            + L1
            + "\",\""
            + L2
            + "\",\""
            + L1
            + "\"]}"
            + "|layers[2]: \""
            + L1
            + "\" repeats layers[0]",
        "{\"aconSpecVersion\":[1,0],\"layers\":[\"signer/" + SIGNER + "/noSvn\"]}|layers[0]: ",
        "{\"aconSpecVersion\":[1,0],\"layers\":[\"signer/" + SIGNER + "/x:01\"]}|leading zeros",
        "{\"aconSpecVersion\":[1,0],\"layers\":\"" + L1 + "\"}|layers: expected an array",
        "{\"aconSpecVersion\":[1,0],\"attributes\":{}}|attributes: unknown manifest field",
        "{\"aconSpecVersion\":[1,0],\"maxInstances\":-1}|maxInstances: -1 is out of range",
        "{\"aconSpecVersion\":[1,0],\"maxInstances\":1.5}|maxInstances: 1.5 is not an integer",
        "{\"aconSpecVersion\":[1,0],\"uids\":[0]}|uids[0]: 0 is out of range",
        "{\"aconSpecVersion\":[1,0],\"signals\":[15,0]}|signals[1]: 0 (no signal)",
        "{\"aconSpecVersion\":[1,0],\"signals\":[99]}|signals[0]: 99 is out of range",
        "{\"aconSpecVersion\":[1,0],\"writableFS\":\"yes\"}|writableFS: expected true or false",
        "{\"aconSpecVersion\":[1,0],\"workingDir\":\"rel\"}|workingDir: \"rel\" must be an"
            + " absolute",
        "{\"aconSpecVersion\":[1,0],\"env\":[\"=x\"]}|env[0]: ",
        "{\"aconSpecVersion\":[1,0],\"aliases\":{\"images\":{}}}|aliases.images: reserved",
        "{\"aconSpecVersion\":[1,0],\"aliases\":{\"self\":{\"x\":[\"a:1\"]}}}|aliases.self[\"x\"]",
        "{\"aconSpecVersion\":[1,0],\"aliases\":{\"self\":{\".\":[\"..\"]}}}|aliases.self[\".\"][0]",
        "{\"aconSpecVersion\":[1,0],\"aliases\":{\"contents\":{\""
            + L1
            + "\":[\"a/b:1\"]}}}"
            + "|without '/'",
        "{\"aconSpecVersion\":[1,0],\"policy\":{\"accepts\":[\"sha384/*\"]}}|policy.accepts[0]",
        "{\"aconSpecVersion\":[1,0],\"policy\":{\"accepts\":[\"sha384/*/App:1\"]}}"
            + "|policy.accepts[0]: \"sha384/*/App:1\" names the self alias App:1 under any signer",
        "{\"aconSpecVersion\":[1,0],\"policy\":{\"accepts\":[\"sha256/*/"
            + "ab"
            + "\"]}}"
            + "|policy.accepts[0]",
        "{\"aconSpecVersion\":[1,0],\"policy\":{\"deny\":[]}}|policy.deny: unknown policy field",
        "{\"aconSpecVersion\":[1,0],\"aconSpecVersion\":[1,0]}|duplicate key \"aconSpecVersion\"",
        "[1,0]|manifest must be a JSON object",
        "{\"aconSpecVersion\":[1,0],}|manifest is not valid JSON: invalid JSON at byte 25",
      })
  void rejectsMalformedFieldsNamingThem(String json, String expected) {
    ManifestException e = assertThrows(ManifestException.class, () -> Manifest.parse(utf8(json)));
    assertTrue(
        e.getMessage().contains(expected),
        "expected the message to contain [" + expected + "] but was: " + e.getMessage());
  }

  @Test
  void builderWritesAFileThatParsesBackToTheSameModel() {
    Manifest m =
        Manifest.builder()
            .addLayer(AliasRef.parse("signer/" + SIGNER + "/python:3"))
            .addLayer(Digest.parse(L1))
            .selfAlias(NameSvn.parse("hello:1"))
            .contentAlias(Digest.parse(L1), NameSvn.parse("hello-code:1"))
            .entrypoint("/usr/bin/python3", "/fn/handler.py")
            .addEnv("LOG_LEVEL=info")
            .workingDir("/fn")
            .maxInstances(4)
            .accept(SIGNER + "/hello:1")
            .rejectUnaccepted(true)
            .build();
    Manifest again = Manifest.parse(m.bytes());
    assertEquals(m, again);
    assertEquals("/fn", again.workingDir());
    assertEquals(4, again.maxInstances());
    assertEquals(2, again.layers().size());
    assertTrue(str(m.bytes()).contains("\n  \"layers\": [\n"), "pretty-printed for people");
    assertArrayEquals(CanonicalJson.canonicalize(m.bytes()), m.canonicalBytes());
    // acond requires these even when empty, so the builder always writes them.
    for (String field : List.of("aliases", "workingDir", "signals", "policy")) {
      assertTrue(str(m.canonicalBytes()).contains("\"" + field + "\":"), field + " written");
    }
  }

  @Test
  void builderRejectsBadValues() {
    ManifestException e =
        assertThrows(ManifestException.class, () -> Manifest.builder().accept("nonsense").build());
    assertTrue(e.getMessage().startsWith("policy.accepts[0]"), e.getMessage());
  }
}
