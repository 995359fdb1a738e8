package dev.confaas.policy;

import static dev.confaas.policy.Ids.image;
import static dev.confaas.policy.Ids.signer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The three use cases of ACON's Image.md ("Common Use Cases of Launch Policy") and their edges. */
class PolicyGraphTest {

  private static PolicyGraph load(PolicyImage... images) {
    PolicyGraph g = PolicyGraph.empty();
    for (PolicyImage image : images) {
      Admission a = g.tryAdd(image);
      if (a instanceof Admission.Refused r) {
        throw new AssertionError("expected " + image.imageId() + " to be admitted: " + r.message());
      }
      g = a.graph();
    }
    return g;
  }

  private static Admission.Refused refused(Admission a) {
    return assertInstanceOf(Admission.Refused.class, a, "expected a refusal");
  }

  // Dependency: the main image rejects the unaccepted and lists its immediate dependencies; those
  // list theirs and do not reject.
  private final PolicyImage runtime = image("lang", "runtime 3.12", List.of("Runtime:3"));
  private final PolicyImage framework = image("csp", "framework", List.of("Framework:2"),
      List.of("sha384/" + signer("lang") + "/Runtime:3"), false);
  private final PolicyImage function = image("author", "fn", List.of("Fn:1"),
      List.of("sha384/" + signer("csp") + "/Framework:2"), true);

  @Test
  void dependencyUseCaseAcceptsTheChainInDependencyOrder() {
    PolicyGraph g = load(function, framework, runtime);
    assertEquals(List.of(function, framework, runtime), g.reachableFrom(function.imageId()),
        "acceptance is transitive: the function reaches the runtime through the framework");
    assertTrue(PolicyGraph.validate(List.of(runtime, function, framework)).isEmpty());
  }

  @Test
  void dependencyUseCaseRefusesAnIndirectDependencyBeforeItsParentIsLoaded() {
    PolicyGraph g = load(function);
    Admission.Refused r = refused(g.tryAdd(runtime));
    assertSame(g, r.graph(), "a refusal leaves the graph unchanged");
    assertEquals(function, r.violation().rejecting());
    assertEquals(runtime, r.violation().unreachable());
    // The same set is valid as a whole, and loadOrder finds how to load it.
    assertTrue(PolicyGraph.validate(List.of(function, runtime, framework)).isEmpty());
    List<PolicyImage> order =
        PolicyGraph.loadOrder(List.of(function, runtime, framework)).orElseThrow();
    assertEquals(3, order.size());
    load(order.toArray(PolicyImage[]::new));
  }

  @Test
  void dependencyUseCaseRefusesAnythingElseNamingTheClosestRule() {
    PolicyGraph g = load(function, framework, runtime);
    PolicyImage oldFramework = image("csp", "framework old", List.of("Framework:1"));
    Admission.Refused r = refused(g.tryAdd(oldFramework));
    PolicyViolation v = r.violation();
    assertEquals(function, v.rejecting());
    assertEquals("Framework:2", v.closest().orElseThrow().rule().alias().orElseThrow().toString());
    String m = r.message();
    assertTrue(m.contains("image " + oldFramework.imageId() + " may not join this TD"), m);
    assertTrue(m.contains(function.imageId() + " [Fn:1] has rejectUnaccepted=true"), m);
    assertTrue(m.contains("(SVN 1 < 2)"), m);
    assertTrue(m.contains("None of their 2 rules matches"), m);
  }

  // Whitelist / global policy: one image lists the exact set and rejects the rest; the others have
  // no policy at all.
  @Test
  void whitelistUseCase() {
    PolicyImage a = image("v1", "A", List.of());
    PolicyImage b = image("v2", "B", List.of());
    PolicyImage gatekeeper = image("owner", "whitelist", List.of(),
        List.of("sha384/" + signer("v1") + "/" + a.manifest(),
            "sha384/*/" + b.manifest()), true);
    PolicyGraph g = load(a, gatekeeper, b);
    assertEquals(3, g.size());

    PolicyImage c = image("v1", "C", List.of());
    Admission.Refused r = refused(g.tryAdd(c));
    assertEquals(gatekeeper, r.violation().rejecting());
    assertTrue(r.message().contains("it names manifest"), r.message());
    assertTrue(r.message().contains("To allow it, add a rule such as 'sha384/" + signer("v1") + "/"
        + c.manifest() + "'"), r.message());
  }

  @Test
  void whitelistGatekeeperMustReachEverythingAlreadyLoaded() {
    PolicyImage a = image("v1", "A", List.of());
    PolicyImage stranger = image("v9", "S", List.of());
    PolicyImage gatekeeper = image("owner", "whitelist", List.of(),
        List.of("sha384/" + signer("v1") + "/" + a.manifest()), true);
    PolicyGraph g = load(a, stranger);
    Admission.Refused r = refused(g.tryAdd(gatekeeper));
    assertEquals(gatekeeper, r.violation().rejecting(), "the candidate itself rejects");
    assertEquals(stranger, r.violation().unreachable(), "and an already loaded image is unreachable");
  }

  // Common signer: every image accepts HASH/SIGNER/* and rejects the rest.
  @Test
  void commonSignerUseCase() {
    String rule = "sha384/" + signer("bank") + "/*";
    PolicyImage x = image("bank", "x", List.of("X:1"), List.of(rule), true);
    PolicyImage y = image("bank", "y", List.of("Y:4"), List.of(rule), true);
    PolicyImage z = image("bank", "z", List.of(), List.of(rule), true);
    PolicyGraph g = load(x, y, z);

    PolicyImage intruder = image("mallory", "y", List.of("Y:4"), List.of(rule), true);
    Admission.Refused r = refused(g.tryAdd(intruder));
    assertEquals(x, r.violation().rejecting(), "the first loaded rejecting image reports");
    assertTrue(r.violation().closest().orElseThrow().reason().contains("names signer"),
        r.violation().message());
  }

  @Test
  void addingAnAlreadyLoadedImageIsANoOp() {
    PolicyGraph g = load(function, framework);
    Admission again = g.tryAdd(function);
    Admission.Accepted accepted = assertInstanceOf(Admission.Accepted.class, again);
    assertTrue(accepted.alreadyLoaded());
    assertSame(g, accepted.graph());
  }

  /**
   * The spec's "if and only if their policies accept each other" is read through its table: images
   * without rejectUnaccepted need not list anyone.
   */
  @Test
  void imagesWithoutRejectUnacceptedNeedNotAcceptEachOther() {
    PolicyImage b = image("v", "B", List.of("B:1"));
    PolicyImage c = image("v", "C", List.of("C:1"));
    PolicyImage a = image("v", "A", List.of(),
        List.of("sha384/" + signer("v") + "/B:1", "sha384/" + signer("v") + "/C:1"), true);
    assertTrue(PolicyGraph.validate(List.of(a, b, c)).isEmpty());
    assertTrue(PolicyGraph.validate(List.of(b, c)).isEmpty(), "no rejecting image: any set");
  }

  @Test
  void aCycleOfThreeRejectingImagesIsValidButCannotBeLoadedOneByOne() {
    PolicyImage[] ring = new PolicyImage[3];
    for (int i = 0; i < 3; i++) {
      String next = "R" + ((i + 1) % 3) + ":1";
      ring[i] = image("ring", "r" + i, List.of("R" + i + ":1"),
          List.of("sha384/" + signer("ring") + "/" + next), true);
    }
    List<PolicyImage> all = List.of(ring);
    assertTrue(PolicyGraph.validate(all).isEmpty(), "every image reaches every other");
    assertTrue(PolicyGraph.loadOrder(all).isEmpty(), "but no loading order keeps every prefix valid");
    for (int first = 0; first < 3; first++) {
      for (int second = 0; second < 3; second++) {
        if (first != second) {
          assertFalse(load(ring[first]).tryAdd(ring[second]).isAccepted(),
              "pair r" + first + ", r" + second);
        }
      }
    }
  }

  /** Where the spec's table is more permissive than acond's direct-edge check (package-info). */
  @Test
  void aRejectingImageMayReachLoadedImagesTransitively() {
    PolicyGraph g = load(runtime, framework); // framework accepts runtime; nobody rejects yet
    PolicyImage main = image("author", "main", List.of(),
        List.of("sha384/" + signer("csp") + "/Framework:2"), true);
    assertTrue(g.tryAdd(main).isAccepted(),
        "main reaches runtime through framework, although it does not list it");
  }

  @Test
  void mayJoinJudgesTheWouldBeSet() {
    assertTrue(PolicyGraph.mayJoin(List.of(function, framework), runtime).isAccepted());
    Admission.Refused r = refused(PolicyGraph.mayJoin(List.of(function), runtime));
    assertEquals(runtime, r.candidate());
    assertTrue(PolicyGraph.mayJoin(List.of(function), function).isAccepted());
    assertTrue(PolicyGraph.mayJoin(List.of(), function).isAccepted());
  }

  @Test
  void anEmptyAcceptsListIsNamedInTheMessage() {
    PolicyImage loner = image("v", "loner", List.of(), List.of(), true);
    Admission.Refused r = refused(load(loner).tryAdd(runtime));
    assertTrue(r.violation().closest().isEmpty());
    assertTrue(r.message().contains("Its policy.accepts is empty."), r.message());
    assertTrue(r.message().contains("'sha384/" + signer("lang") + "/Runtime:3'"),
        "suggests a rule by the image's self alias: " + r.message());
  }
}
