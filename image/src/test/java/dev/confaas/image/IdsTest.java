package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IdsTest {
  static final String H96 = "0123456789abcdef".repeat(6);

  @Test
  void signerIdOfTheAconSpecExampleCertificateIsTheOneTheSpecGives() throws Exception {
    byte[] pem;
    try (java.io.InputStream in = getClass().getResourceAsStream("/acon-spec/example-signer.pem")) {
      pem = in.readAllBytes();
    }
    byte[] der = SigningKeys.certificateDer(pem);
    assertEquals(
        "sha384/7be2e38d33d92874122df802ec3a3f3952bd38906f341f9fe456619447eeacc8"
            + "272003e6b9434700f7bec7de2a8ade31",
        SignerId.of(der).toString());
    // ecdsa-with-SHA384 over a P-521 key: usable, and the hash is SHA-384.
    SignedManifest sm =
        SignedManifest.of(
            Manifest.parse(CanonicalJsonTest.utf8("{\"aconSpecVersion\":[1,0]}")),
            new byte[0],
            der);
    assertEquals(HashAlgorithm.SHA384, sm.hashAlgorithm());
    assertEquals(
        "signer/sha384/7be2e38d33d92874122df802ec3a3f3952bd38906f341f9fe456619447eeacc8"
            + "272003e6b9434700f7bec7de2a8ade31/SharedLayerA:1",
        AliasRef.of(sm.signerId(), NameSvn.parse("SharedLayerA:1")).toString(),
        "the spec's alias reference for SharedLayerA:1");
  }

  @Test
  void digestRoundTripsAndHashes() {
    Digest d = Digest.sha384(CanonicalJsonTest.utf8("abc"));
    // FIPS 180-2 test vector for SHA-384("abc").
    assertEquals(
        "sha384/cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            + "8086072ba1e7cc2358baeca134c825a7",
        d.toString());
    assertEquals(d, Digest.parse(d.toString()));
    assertTrue(d.matches(CanonicalJsonTest.utf8("abc")));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "sha1/ab|weaker than SHA-256",
        "md5/ab|weaker than SHA-256",
        "sha3/ab|not a known hash",
        "sha384|not a digest",
        "sha384/abc|must be 96 hex digits, got 3",
        "sha256/"
            + "AB"
            + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
            + "|only lowercase hex",
      })
  void digestParseSaysWhatIsWrong(String s, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Digest.parse(s));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void imageIdParsesIntoSignerAndManifest() {
    ImageId id = ImageId.parse("sha384/" + H96 + "/" + H96.replace('0', 'f'));
    assertEquals("sha384/" + H96, id.signerId().toString());
    assertEquals(H96.replace('0', 'f'), id.manifestHex());
    assertEquals(HashAlgorithm.SHA384, id.algorithm());
    assertEquals(id, ImageId.parse(id.toString()));
    assertThrows(IllegalArgumentException.class, () -> ImageId.parse("sha384/" + H96));
    assertThrows(IllegalArgumentException.class, () -> ImageId.parse("sha384/" + H96 + "/abc"));
  }

  @Test
  void aliasRefHasSignerNameAndSvn() {
    AliasRef a = AliasRef.parse("signer/sha384/" + H96 + "/python3.12:4");
    assertEquals("python3.12", a.name());
    assertEquals(4, a.svn());
    assertEquals("sha384/" + H96, a.signerId().toString());
    assertEquals(a, LayerRef.parse(a.toString()));
    assertEquals("signer/sha384/" + H96 + "/python3.12:4", a.toString());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        ".|'.' and '..'",
        "..|'.' and '..'",
        "a/b:1|without '/'",
        "name|missing ':SVN'",
        ":1|NAME is empty",
        "x:-1|non-negative decimal",
        "x:01|without leading zeros",
        "x:1.5|non-negative decimal",
        "x:99999999999999999999|too large",
      })
  void nameSvnFollowsAconAliasRules(String s, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> NameSvn.parse(s));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void nameSvnMayContainColonsInTheName() {
    NameSvn n = NameSvn.parse("a:b:7");
    assertEquals("a:b", n.name());
    assertEquals(7, n.svn());
    assertEquals(NameSvn.parse("x:0").svn(), 0);
    assertThrows(IllegalArgumentException.class, () -> NameSvn.parse("x".repeat(254) + ":1"));
  }
}
