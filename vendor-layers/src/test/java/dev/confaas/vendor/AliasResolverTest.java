package dev.confaas.vendor;

import static dev.confaas.vendor.Fixtures.keys;
import static dev.confaas.vendor.Fixtures.vendorManifest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class AliasResolverTest {
  private static final Digest RUNTIME_V3 = Digest.sha384("python 3.12.1 tar".getBytes(StandardCharsets.UTF_8));
  private static final Digest RUNTIME_V4 = Digest.sha384("python 3.12.2 tar".getBytes(StandardCharsets.UTF_8));

  private static AliasRef ref(String vendor, String nameSvn) {
    return AliasRef.of(keys(vendor).signerId(), NameSvn.parse(nameSvn));
  }

  private static ContentAliases aliases(SignedManifest... published) throws Exception {
    ContentAliases a = ContentAliases.empty();
    long seq = 1;
    for (SignedManifest m : published) {
      a = a.plus(m, seq++);
    }
    return a;
  }

  @Test
  void resolvesAnAliasThroughTheManifestItsSignerSigned() throws Exception {
    AliasResolver r = new AliasResolver(aliases(vendorManifest("lang", RUNTIME_V3, "Python:3", "Python:2")));
    ResolvedLayer l = r.resolve(ref("lang", "Python:2"));
    assertEquals(RUNTIME_V3, l.digest().orElseThrow(), l.problem().orElse(""));
    assertEquals(1, l.chain().size());
    assertTrue(r.resolve(RUNTIME_V4).isResolved(), "a digest entry resolves to itself");
  }

  @Test
  void anotherSignerCannotDefineOrOverrideTheAlias() throws Exception {
    AliasResolver r = new AliasResolver(aliases(
        vendorManifest("lang", RUNTIME_V3, "Python:3"),
        vendorManifest("mallory", RUNTIME_V4, "Python:3")));
    assertEquals(RUNTIME_V3, r.resolve(ref("lang", "Python:3")).digest().orElseThrow(),
        "mallory's later definition of the same name is bound to mallory, not to lang");
    assertEquals(RUNTIME_V4, r.resolve(ref("mallory", "Python:3")).digest().orElseThrow());
  }

  @Test
  void theNewestPublicationWinsBySequenceNotByOrderOfArrival() throws Exception {
    ContentAliases a = ContentAliases.empty()
        .plus(vendorManifest("lang", RUNTIME_V4, "Python:3"), 7)
        .plus(vendorManifest("lang", RUNTIME_V3, "Python:3"), 2);
    AliasDefinition d = a.definition(ref("lang", "Python:3")).orElseThrow();
    assertEquals(RUNTIME_V4, d.target());
    assertEquals(7, d.sequence());
  }

  @Test
  void aNewerManifestNotDefiningAnOldSvnLeavesItsOlderDefinition() throws Exception {
    AliasResolver r = new AliasResolver(aliases(
        vendorManifest("lang", RUNTIME_V3, "Python:3", "Python:2"),
        vendorManifest("lang", RUNTIME_V4, "Python:4", "Python:3")));
    assertEquals(RUNTIME_V4, r.resolve(ref("lang", "Python:3")).digest().orElseThrow());
    assertEquals(RUNTIME_V3, r.resolve(ref("lang", "Python:2")).digest().orElseThrow());
  }

  @Test
  void svnIsMatchedExactlyNeverGuessed() throws Exception {
    AliasResolver r = new AliasResolver(aliases(vendorManifest("lang", RUNTIME_V3, "Python:3")));
    ResolvedLayer l = r.resolve(ref("lang", "Python:2"));
    assertFalse(l.isResolved(), "Python:3 does not stand in for Python:2 unless the vendor says so");
    assertTrue(l.problem().orElseThrow().contains("is not defined by any published manifest signed by "
        + keys("lang").signerId()), l.problem().orElseThrow());
  }

  /** The spec's SharedLayerC example: an alias of another signer's alias. */
  @Test
  void followsAChainAcrossSigners() throws Exception {
    AliasRef runtime = ref("lang", "Python:3");
    AliasResolver r = new AliasResolver(aliases(
        vendorManifest("lang", RUNTIME_V3, "Python:3"),
        vendorManifest("csp", runtime, "Framework:1")));
    ResolvedLayer l = r.resolve(ref("csp", "Framework:1"));
    assertEquals(RUNTIME_V3, l.digest().orElseThrow(), l.problem().orElse(""));
    assertEquals(List.of(ref("csp", "Framework:1"), runtime),
        l.chain().stream().map(AliasDefinition::alias).toList());
  }

  @Test
  void aDanglingLinkInAChainNamesTheReferenceAndTheChain() throws Exception {
    AliasResolver r = new AliasResolver(aliases(
        vendorManifest("csp", ref("lang", "Python:9"), "Framework:1")));
    String problem = r.resolve(ref("csp", "Framework:1")).problem().orElseThrow();
    assertTrue(problem.contains("alias " + ref("lang", "Python:9")), problem);
    assertTrue(problem.contains("reached via " + ref("csp", "Framework:1")), problem);
  }

  @Test
  void detectsCycles() throws Exception {
    AliasResolver r = new AliasResolver(aliases(
        vendorManifest("csp", ref("csp", "B:1"), "A:1"),
        vendorManifest("csp", ref("csp", "A:1"), "B:1")));
    String problem = r.resolve(ref("csp", "A:1")).problem().orElseThrow();
    assertTrue(problem.contains("cycle"), problem);
  }

  @Test
  void limitsTheDepthOfChains() throws Exception {
    int links = AliasResolver.MAX_DEPTH + 1;
    SignedManifest[] published = new SignedManifest[links];
    for (int i = 0; i < links - 1; i++) {
      published[i] = vendorManifest("csp", ref("csp", "L" + (i + 1) + ":1"), "L" + i + ":1");
    }
    published[links - 1] = vendorManifest("csp", RUNTIME_V3, "L" + (links - 1) + ":1");
    AliasResolver r = new AliasResolver(aliases(published));
    assertTrue(r.resolve(ref("csp", "L1:1")).isResolved(), "MAX_DEPTH steps are allowed");
    String problem = r.resolve(ref("csp", "L0:1")).problem().orElseThrow();
    assertTrue(problem.contains("more than " + AliasResolver.MAX_DEPTH + " steps"), problem);
  }

  @Test
  void resolvesAFunctionsLayersBottomFirstAndReportsEveryMissingEntry() throws Exception {
    Digest fnLayer = Digest.sha384("handler.py".getBytes(StandardCharsets.UTF_8));
    Manifest fn = Manifest.builder()
        .addLayer(ref("lang", "Python:3"))
        .addLayer(ref("csp", "Framework:1"))
        .addLayer(ref("lang", "Node:20"))
        .addLayer(fnLayer)
        .entrypoint("/var/task/bootstrap")
        .build();
    AliasResolver r = new AliasResolver(aliases(vendorManifest("lang", RUNTIME_V3, "Python:3")));
    LayerResolution res = r.resolveLayers(fn);
    assertEquals(4, res.layers().size());
    assertEquals(RUNTIME_V3, res.layers().get(0).digest().orElseThrow());
    assertEquals(fnLayer, res.layers().get(3).digest().orElseThrow());
    assertEquals(2, res.unresolved().size());
    UnresolvedLayerException e = assertThrows(UnresolvedLayerException.class, res::digests);
    assertTrue(e.getMessage().startsWith("2 layer entries do not resolve"), e.getMessage());
    assertTrue(e.getMessage().contains("Framework:1") && e.getMessage().contains("Node:20"),
        e.getMessage());
  }

  @Test
  void definitionsAreOnlyTakenFromManifestsWhoseSignatureVerifies() throws Exception {
    SignedManifest genuine = vendorManifest("lang", RUNTIME_V3, "Python:3");
    Manifest forged = Manifest.builder().addLayer(RUNTIME_V4).contentAlias(RUNTIME_V4,
        NameSvn.parse("Python:3")).build();
    SignedManifest replayed =
        SignedManifest.of(forged, genuine.signature(), genuine.certificateDer());
    assertThrows(ImageVerificationException.class,
        () -> ContentAliases.empty().plus(replayed, 1));
  }

  @Test
  void oneManifestCannotDefineAnAliasForTwoObjects() {
    Manifest m = Manifest.builder()
        .contentAlias(RUNTIME_V3, NameSvn.parse("Python:3"))
        .contentAlias(RUNTIME_V4, NameSvn.parse("Python:3"))
        .build();
    SignedManifest s = keys("lang").signer().signed(m);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ContentAliases.empty().plus(s, 1));
    assertTrue(e.getMessage().contains("defines alias Python:3 twice"), e.getMessage());
  }
}
