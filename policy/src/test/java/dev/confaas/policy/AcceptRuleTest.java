package dev.confaas.policy;

import static dev.confaas.policy.Ids.hex;
import static dev.confaas.policy.Ids.signer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AcceptRuleTest {

  private static final String ACME = signer("acme");
  private static final String OTHER = signer("other");

  /** The four rules of the example manifest in ACON's Image.md parse as the spec describes them. */
  @Test
  void parsesTheSpecExampleRules() {
    AcceptRule productA = AcceptRule.parse(
        "sha256/c4c56a4bfe7a48ca831492c67cd68537ba46fd89876262f9a5ee5547466a94a8/ProductA:2");
    assertEquals("sha256", productA.hash());
    assertEquals(
        Optional.of("c4c56a4bfe7a48ca831492c67cd68537ba46fd89876262f9a5ee5547466a94a8"),
        productA.signer());
    assertEquals(Optional.of(new ImageAlias("ProductA", 2)), productA.alias());

    AcceptRule anyManifest =
        AcceptRule.parse("sha224/72a802570f2a1759d33e8297f7cebf9c8fb947db8930143ff313b142/*");
    assertEquals(Optional.empty(), anyManifest.alias());
    assertEquals(Optional.empty(), anyManifest.manifestDigest());

    AcceptRule anySigner = AcceptRule.parse("sha384/*/4c1c3713b0c3d7fd36750e51f28c8f123dfcad9e506cbfd5d"
        + "06432cdf2df4194327442571e805ca5b46c7ab151ead3cd");
    assertEquals(Optional.empty(), anySigner.signer());
    assertTrue(anySigner.manifestDigest().isPresent());
    assertEquals("sha384/*/4c1c3713b0c3d7fd36750e51f28c8f123dfcad9e506cbfd5d06432cdf2df4194327442"
        + "571e805ca5b46c7ab151ead3cd", anySigner.toString(), "toString is the rule as written");
  }

  /** The spec's example policy, applied to images whose IDs those rules were written for. */
  @Test
  void theSpecExamplePolicyAcceptsWhatItsTextSays() {
    String productSigner = "c4c56a4bfe7a48ca831492c67cd68537ba46fd89876262f9a5ee5547466a94a8";
    String sha224Signer = "72a802570f2a1759d33e8297f7cebf9c8fb947db8930143ff313b142";
    String pinned = "4c1c3713b0c3d7fd36750e51f28c8f123dfcad9e506cbfd5d06432cdf2df4194327442571e805"
        + "ca5b46c7ab151ead3cd";
    LaunchPolicy policy = LaunchPolicy.parse(List.of(
        "sha256/" + productSigner + "/ProductA:2",
        "sha256/" + productSigner + "/ProductB:1",
        "sha224/" + sha224Signer + "/*",
        "sha384/*/" + pinned), true);

    PolicyImage productA3 = PolicyImage.of("sha256/" + productSigner + "/" + hex("sha256", "a3"),
        List.of("ProductA:3", "ProductA:2"), List.of(), false);
    PolicyImage productA1 = PolicyImage.of("sha256/" + productSigner + "/" + hex("sha256", "a1"),
        List.of("ProductA:1"), List.of(), false);
    PolicyImage productB1 = PolicyImage.of("sha256/" + productSigner + "/" + hex("sha256", "b1"),
        List.of("ProductB:1"), List.of(), false);
    PolicyImage anyBySha224Signer = PolicyImage.of(
        "sha224/" + sha224Signer + "/" + hex("sha224", "whatever"), List.of(), List.of(), false);
    PolicyImage pinnedByAnyone = PolicyImage.of(
        "sha384/" + signer("anyone") + "/" + pinned, List.of(), List.of(), false);
    PolicyImage other = PolicyImage.of(
        "sha384/" + signer("anyone") + "/" + hex("sha384", "other"), List.of(), List.of(), false);

    assertTrue(policy.acceptsDirectly(productA3), "rule 1: ProductA at SVN >= 2");
    assertFalse(policy.acceptsDirectly(productA1), "rule 1: ProductA:1 is below SVN 2");
    assertTrue(policy.acceptsDirectly(productB1), "rule 2");
    assertTrue(policy.acceptsDirectly(anyBySha224Signer), "rule 3: any manifest of that signer");
    assertTrue(policy.acceptsDirectly(pinnedByAnyone), "rule 4: that manifest, any signer");
    assertFalse(policy.acceptsDirectly(other));
  }

  @Test
  void selfAliasRuleMatchesSameNameWithSvnAtLeastTheRules() {
    AcceptRule rule = AcceptRule.parse("sha384/" + ACME + "/ProductA:2");
    assertTrue(rule.matches(Ids.image("acme", "v2", List.of("ProductA:2"))), "SVN 2 >= 2");
    assertTrue(rule.matches(Ids.image("acme", "v3", List.of("ProductA:3", "ProductA:2"))));
    assertTrue(rule.matches(Ids.image("acme", "v3only", List.of("ProductA:3"))), "SVN 3 >= 2");
    assertFalse(rule.matches(Ids.image("acme", "v1", List.of("ProductA:1", "ProductA:0"))),
        "SVN 1 < 2 must not match");
    assertFalse(rule.matches(Ids.image("acme", "ab", List.of("ProductAB:9"))), "NAME is exact");
    assertFalse(rule.matches(Ids.image("acme", "lower", List.of("producta:9"))),
        "NAME is case-sensitive");
    assertFalse(rule.matches(Ids.image("other", "v9", List.of("ProductA:9"))),
        "an alias defined by another signer must not match");
    assertFalse(rule.matches(Ids.image("acme", "none", List.of())));
  }

  @Test
  void svnIsComparedAsUnsigned64BitNumber() {
    AcceptRule rule = AcceptRule.parse("sha384/" + ACME + "/Big:9223372036854775808");
    assertTrue(rule.matches(Ids.image("acme", "max", List.of("Big:18446744073709551615"))));
    assertFalse(rule.matches(Ids.image("acme", "small", List.of("Big:9223372036854775807"))));
  }

  @Test
  void hashIsCheckedNotIgnored() {
    PolicyImage sha384Image = Ids.image("acme", "m", List.of("ProductA:1"));
    PolicyImage sha512Image = PolicyImage.of(
        "sha512/" + hex("sha512", "certificate of acme") + "/" + hex("sha512", "manifest m"),
        List.of("ProductA:1"), List.of(), false);

    assertTrue(AcceptRule.parse("sha384/*/*").matches(sha384Image));
    assertFalse(AcceptRule.parse("sha384/*/*").matches(sha512Image),
        "sha384/*/* accepts every image whose ID uses sha384, and only those");
    assertTrue(AcceptRule.parse("sha512/*/*").matches(sha512Image));

    // A SIGNER '*' rule with a digest compares that digest under HASH only.
    String manifest384 = sha384Image.manifest();
    assertTrue(AcceptRule.parse("sha384/*/" + manifest384).matches(sha384Image));
    assertFalse(AcceptRule.parse("sha384/*/" + manifest384).matches(sha512Image));
  }

  @Test
  void digestWithAnySignerMatchesThatManifestWhoeverSignedIt() {
    PolicyImage byAcme = Ids.image("acme", "same manifest", List.of());
    PolicyImage byOther = Ids.image("other", "same manifest", List.of());
    assertEquals(byAcme.manifest(), byOther.manifest());
    AcceptRule anySigner = AcceptRule.parse("sha384/*/" + byAcme.manifest());
    assertTrue(anySigner.matches(byAcme));
    assertTrue(anySigner.matches(byOther));

    AcceptRule acmeOnly = AcceptRule.parse("sha384/" + ACME + "/" + byAcme.manifest());
    assertTrue(acmeOnly.matches(byAcme));
    assertFalse(acmeOnly.matches(byOther),
        "a rule naming a signer requires it even when the manifest digest matches (acond does not)");
  }

  @Test
  void signerWildcardRuleMatchesAnySignersImageOfThatHash() {
    AcceptRule acmeAny = AcceptRule.parse("sha384/" + ACME + "/*");
    assertTrue(acmeAny.matches(Ids.image("acme", "x", List.of())));
    assertFalse(acmeAny.matches(Ids.image("other", "x", List.of())));
  }

  @Test
  void rejectsMalformedRulesWithAMessageNamingThePart() {
    assertMessage("has 2 '/'-separated parts", "sha384/" + ACME);
    assertMessage("has 4 '/'-separated parts", "sha384/" + ACME + "/x/ProductA:1");
    assertMessage("HASH 'SHA384'", "SHA384/" + ACME + "/*");
    assertMessage("HASH 'md5'", "md5/*/*");
    assertMessage("uppercase hex digit", "sha384/" + ACME.toUpperCase() + "/*");
    assertMessage("SIGNER has 64 hex digits but a sha384 digest has 96",
        "sha384/" + hex("sha256", "x") + "/*");
    assertMessage("MANIFEST is neither *, a self alias NAME:SVN, nor a sha384 digest",
        "sha384/" + ACME + "/ProductA");
    assertMessage("bound to the signer", "sha384/*/ProductA:1");
    assertMessage("SVN 'x'", "sha384/" + ACME + "/ProductA:x");
    assertMessage("leading zero; write ProductA:1", "sha384/" + ACME + "/ProductA:01");
    assertMessage("exactly one ':'", "sha384/" + ACME + "/A:B:1");
    assertMessage("alias name '' is empty", "sha384/" + ACME + "/:1");
    assertMessage("reserved", "sha384/" + ACME + "/..:1");
    assertMessage("larger than 18446744073709551615", "sha384/" + ACME + "/A:18446744073709551616");
    assertMessage("rule is empty", "");
  }

  @Test
  void errorsInAManifestsPolicyNameTheField() {
    InvalidPolicyException e = assertThrows(InvalidPolicyException.class,
        () -> LaunchPolicy.parse(List.of("sha384/" + OTHER + "/*", "sha384/*/Foo:1"), true));
    assertTrue(e.getMessage().startsWith("policy.accepts[1]: rule 'sha384/*/Foo:1'"), e.getMessage());

    InvalidPolicyException alias = assertThrows(InvalidPolicyException.class,
        () -> Ids.image("acme", "bad alias", List.of("Good:1", "Bad")));
    assertTrue(alias.getMessage().startsWith("aliases.self[\".\"][1]: alias 'Bad'"),
        alias.getMessage());

    InvalidPolicyException id = assertThrows(InvalidPolicyException.class,
        () -> PolicyImage.of("sha384/" + ACME, List.of(), List.of(), false));
    assertTrue(id.getMessage().contains("is not HASH/SIGNER/MANIFEST"), id.getMessage());
  }

  private static void assertMessage(String expectedPart, String rule) {
    InvalidPolicyException e =
        assertThrows(InvalidPolicyException.class, () -> AcceptRule.parse(rule), rule);
    assertTrue(e.getMessage().contains(expectedPart),
        "message for rule '" + rule + "' should contain '" + expectedPart + "' but was: "
            + e.getMessage());
  }
}
