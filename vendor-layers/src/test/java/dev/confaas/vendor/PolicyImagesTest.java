package dev.confaas.vendor;

import static dev.confaas.vendor.Fixtures.keys;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.Digest;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.policy.Admission;
import dev.confaas.policy.ImageAlias;
import dev.confaas.policy.InvalidPolicyException;
import dev.confaas.policy.PolicyGraph;
import dev.confaas.policy.PolicyImage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyImagesTest {
  private static final Digest LAYER = Digest.sha384("fw".getBytes(StandardCharsets.UTF_8));

  @Test
  void takesIdSelfAliasesAndPolicyFromAVerifiedManifest() throws Exception {
    SignedManifest vendor = keys("csp").signer().signed(Manifest.builder()
        .addLayer(LAYER)
        .contentAlias(LAYER, NameSvn.parse("Framework:2"))
        .selfAlias(NameSvn.parse("FrameworkImage:2"))
        .build());
    SignedManifest fn = keys("author").signer().signed(Manifest.builder()
        .entrypoint("/bootstrap")
        .accept("sha384/" + keys("csp").signerId().hex() + "/FrameworkImage:2")
        .rejectUnaccepted(true)
        .build());

    PolicyImage v = PolicyImages.of(vendor);
    PolicyImage f = PolicyImages.of(fn);
    assertEquals(vendor.imageId().toString(), v.imageId());
    assertEquals(List.of(new ImageAlias("FrameworkImage", 2)), v.selfAliases());
    assertTrue(f.policy().rejectUnaccepted());

    Admission a = PolicyGraph.empty().tryAdd(f).graph().tryAdd(v);
    assertTrue(a.isAccepted(), a instanceof Admission.Refused r ? r.message() : "");
  }

  /**
   * A self-alias rule without a signer means nothing (self aliases are bound to their signer): the
   * image module already refuses to build such a manifest, and launch policy refuses the rule too.
   */
  @Test
  void aSelfAliasRuleWithoutSignerIsRefusedByBothImageAndPolicy() {
    IllegalArgumentException built = assertThrows(IllegalArgumentException.class,
        () -> Manifest.builder().accept("sha384/*/Framework:2").rejectUnaccepted(true).build());
    assertTrue(built.getMessage().contains("under any signer"), built.getMessage());
    InvalidPolicyException e = assertThrows(InvalidPolicyException.class,
        () -> dev.confaas.policy.LaunchPolicy.parse(List.of("sha384/*/Framework:2"), true));
    assertTrue(e.getMessage().startsWith("policy.accepts[0]: "), e.getMessage());
  }

  @Test
  void refusesAManifestWhoseSignatureDoesNotVerify() throws Exception {
    SignedManifest genuine = keys("csp").signer().signed(Manifest.builder().build());
    SignedManifest forged = SignedManifest.of(
        Manifest.builder().rejectUnaccepted(true).build(),
        genuine.signature(), genuine.certificateDer());
    assertThrows(ImageVerificationException.class, () -> PolicyImages.of(forged));
  }
}
