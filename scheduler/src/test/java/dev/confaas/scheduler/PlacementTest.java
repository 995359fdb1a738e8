package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.policy.PolicyImage;
import dev.confaas.vendor.PolicyImages;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Placement over real signed images and their launch policies. */
class PlacementTest {
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T08:00:00Z"), ZoneOffset.UTC);
  private static final SigningKeys ALICE = SigningKeys.generate("alice", CLOCK);
  private static final SigningKeys BOB = SigningKeys.generate("bob", CLOCK);
  private static final SigningKeys VENDOR = SigningKeys.generate("vendor", CLOCK);

  /** The vendor's framework image: no policy of its own, so anything may sit next to it. */
  private static final PolicyImage FRAMEWORK = image(VENDOR, "framework", false);
  /** Alice's functions accept Alice's images and the vendor's, and nothing else. */
  private static final PolicyImage ALICE_A = image(ALICE, "a", true, ALICE, VENDOR);
  private static final PolicyImage ALICE_B = image(ALICE, "b", true, ALICE, VENDOR);
  /** Bob's accept only Bob's and the vendor's. */
  private static final PolicyImage BOB_C = image(BOB, "c", true, BOB, VENDOR);

  private static PolicyImage image(SigningKeys k, String layer, boolean reject, SigningKeys... accepted) {
    Manifest.Builder b =
        Manifest.builder()
            .addLayer(Digest.sha384(layer.getBytes(StandardCharsets.UTF_8)))
            .entrypoint("/bin/" + layer)
            .rejectUnaccepted(reject);
    for (SigningKeys a : accepted) {
      b.accept("sha384/" + a.signerId().hex() + "/*");
    }
    try {
      return PolicyImages.of(k.signer().signed(b.build()));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Placement.TdView td(String id, int instances, PolicyImage... loaded) {
    return new Placement.TdView(id, List.of(loaded), instances, 0);
  }

  @Test
  void functionsOfOneSignerArePackedTogether() {
    Placement.Choice c =
        Placement.choose(
            List.of(FRAMEWORK, ALICE_B), 0, 8,
            List.of(td("td-bob", 1, FRAMEWORK, BOB_C), td("td-alice", 1, FRAMEWORK, ALICE_A)));
    assertEquals(Optional.of("td-alice"), c.tdId(), c.why());
  }

  @Test
  void functionsWhosePoliciesRefuseEachOtherNeverShareATd() {
    Placement.Choice c =
        Placement.choose(List.of(FRAMEWORK, BOB_C), 0, 8, List.of(td("td-alice", 1, FRAMEWORK, ALICE_A)));
    assertEquals(Optional.empty(), c.tdId(), "Bob's function must go to a fresh TD: " + c.why());
    assertTrue(Placement.refusal(List.of(FRAMEWORK, ALICE_A), List.of(FRAMEWORK, BOB_C)).isPresent());
  }

  @Test
  void aTdAlreadyHoldingTheImageWinsOverOneThatWouldHaveToLoadIt() {
    Placement.Choice c =
        Placement.choose(
            List.of(FRAMEWORK, ALICE_B), 0, 8,
            List.of(td("td-1", 3, FRAMEWORK, ALICE_A), td("td-2", 1, FRAMEWORK, ALICE_A, ALICE_B)));
    assertEquals(Optional.of("td-2"), c.tdId(), c.why());
    assertEquals("already holds the image", c.why());
  }

  @Test
  void aFullTdIsPassedOver() {
    Placement.Choice c =
        Placement.choose(List.of(FRAMEWORK, ALICE_B), 0, 4, List.of(td("td-full", 4, FRAMEWORK, ALICE_A)));
    assertEquals(Optional.empty(), c.tdId(), "4 instances is the per-TD cap");
    Placement.Choice capped =
        Placement.choose(
            List.of(FRAMEWORK, ALICE_B), 2, 8,
            List.of(new Placement.TdView("td-1", List.of(FRAMEWORK, ALICE_B), 2, 2)));
    assertEquals(Optional.empty(), capped.tdId(), "the image's maxInstances=2 is reached on td-1");
  }

  @Test
  void anOpenImageMayJoinAnotherSignersOpenTdButTheSameSignerIsPreferred() {
    PolicyImage openAlice = image(ALICE, "open-a", false);
    PolicyImage openAlice2 = image(ALICE, "open-a2", false);
    PolicyImage openBob = image(BOB, "open-b", false);
    Placement.Choice c =
        Placement.choose(
            List.of(openAlice2), 0, 8, List.of(td("td-bob", 5, openBob), td("td-alice", 1, openAlice)));
    assertEquals(Optional.of("td-alice"), c.tdId(), "same signer first, even on an emptier TD");
    Placement.Choice only = Placement.choose(List.of(openAlice2), 0, 8, List.of(td("td-bob", 5, openBob)));
    assertEquals(Optional.of("td-bob"), only.tdId(), "no policy forbids it, so it packs");
  }

  @Test
  void aFunctionWhoseOwnImagesRefuseEachOtherIsRefusedWithTheReason() {
    // Bob's function does not accept the framework of a second vendor it names as a dependency.
    SigningKeys other = SigningKeys.generate("other-vendor", CLOCK);
    PolicyImage otherFramework = image(other, "fw2", false);
    Placement.PlacementException e =
        assertThrows(
            Placement.PlacementException.class,
            () -> Placement.choose(List.of(otherFramework, BOB_C), 0, 8, List.of()));
    assertTrue(e.getMessage().contains("policy.accepts"), e.getMessage());
    assertTrue(e.getMessage().contains(BOB_C.imageId()), e.getMessage());
  }
}
