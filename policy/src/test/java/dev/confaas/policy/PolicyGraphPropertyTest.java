package dev.confaas.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Property tests over seeded random image sets: what the spec says is order-independent is, and
 * incremental admission is exactly "the would-be graph is valid", which is order-dependent.
 */
class PolicyGraphPropertyTest {
  private static final long SEED = 20261122L;
  private static final int ROUNDS = 2000;
  private static final String[] VENDORS = {"acme", "bank", "csp"};
  private static final String[] NAMES = {"Fn", "Framework", "Runtime"};

  private final Random random = new Random(SEED);

  /** A pool of images whose rules refer to each other, so graphs have interesting edges. */
  private List<PolicyImage> randomPool(int size) {
    List<String> vendors = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    List<List<String>> aliases = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      vendors.add(VENDORS[random.nextInt(VENDORS.length)]);
      labels.add("m" + i + "-" + random.nextInt(1000));
      List<String> own = new ArrayList<>();
      int count = random.nextInt(3);
      for (int k = 0; k < count; k++) {
        own.add(NAMES[random.nextInt(NAMES.length)] + ":" + random.nextInt(4));
      }
      aliases.add(own.stream().distinct().collect(Collectors.toList()));
    }
    List<PolicyImage> pool = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      List<String> accepts = new ArrayList<>();
      int rules = random.nextInt(4);
      for (int k = 0; k < rules; k++) {
        int target = random.nextInt(size);
        String signer = Ids.signer(vendors.get(target));
        String manifest = Ids.hex("sha384", "manifest " + labels.get(target));
        switch (random.nextInt(6)) {
          case 0 -> accepts.add("sha384/" + signer + "/" + manifest);
          case 1 -> accepts.add("sha384/*/" + manifest);
          case 2 -> accepts.add("sha384/" + signer + "/*");
          case 3 -> accepts.add("sha384/" + signer + "/"
              + NAMES[random.nextInt(NAMES.length)] + ":" + random.nextInt(4));
          case 4 -> accepts.add(random.nextInt(4) == 0 ? "sha384/*/*" : "sha512/*/*");
          default -> accepts.add("sha256/" + Ids.hex("sha256", "x") + "/*");
        }
      }
      pool.add(Ids.image(vendors.get(i), labels.get(i), aliases.get(i), accepts,
          random.nextInt(10) < 4));
    }
    return pool;
  }

  /** Reference validity, written independently of PolicyGraph: transitive closure by Warshall. */
  private static boolean oracleValid(List<PolicyImage> set) {
    int n = set.size();
    boolean[][] reach = new boolean[n][n];
    for (int i = 0; i < n; i++) {
      reach[i][i] = true;
      for (int j = 0; j < n; j++) {
        for (AcceptRule rule : set.get(i).policy().accepts()) {
          reach[i][j] |= rule.matches(set.get(j));
        }
      }
    }
    for (int k = 0; k < n; k++) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          reach[i][j] |= reach[i][k] && reach[k][j];
        }
      }
    }
    for (int r = 0; r < n; r++) {
      if (set.get(r).policy().rejectUnaccepted()) {
        for (int j = 0; j < n; j++) {
          if (!reach[r][j]) {
            return false;
          }
        }
      }
    }
    return true;
  }

  private List<PolicyImage> shuffled(List<PolicyImage> images) {
    List<PolicyImage> copy = new ArrayList<>(images);
    Collections.shuffle(copy, random);
    return copy;
  }

  @Test
  void validityOfASetIsOrderIndependentAndMatchesTheReference() {
    int valid = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<PolicyImage> set = randomPool(1 + random.nextInt(6));
      boolean expected = oracleValid(set);
      valid += expected ? 1 : 0;
      for (int t = 0; t < 3; t++) {
        List<PolicyImage> order = shuffled(set);
        assertEquals(expected, PolicyGraph.validate(order).isEmpty(),
            "round " + round + ": validate disagrees with the reference for " + order);
      }
    }
    assertTrue(valid > ROUNDS / 10 && valid < ROUNDS * 9 / 10,
        "the generator should produce both valid and invalid sets, got " + valid + " valid");
  }

  /** tryAdd accepts exactly when the would-be graph (prefix + candidate) is valid. */
  @Test
  void incrementalAdmissionIsValidityOfTheWouldBeGraph() {
    int validSetsWithARefusedOrder = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<PolicyImage> order = randomPool(1 + random.nextInt(6));
      PolicyGraph g = PolicyGraph.empty();
      List<PolicyImage> loaded = new ArrayList<>();
      boolean allAccepted = true;
      for (PolicyImage candidate : order) {
        List<PolicyImage> wouldBe = new ArrayList<>(loaded);
        wouldBe.add(candidate);
        Admission a = g.tryAdd(candidate);
        assertEquals(oracleValid(wouldBe), a.isAccepted(), "round " + round + " at " + wouldBe);
        assertEquals(a.isAccepted(),
            PolicyGraph.mayJoin(loaded, candidate).isAccepted(), "mayJoin agrees with tryAdd");
        if (a.isAccepted()) {
          g = a.graph();
          loaded.add(candidate);
        } else {
          allAccepted = false;
          assertEquals(loaded, g.images(), "a refusal leaves the graph as it was");
        }
      }
      assertTrue(PolicyGraph.validate(g.images()).isEmpty(),
          "a graph built by tryAdd is always valid");
      if (allAccepted) {
        assertTrue(oracleValid(order), "if every load was accepted, the final set is valid");
      } else if (oracleValid(order)) {
        validSetsWithARefusedOrder++;
      }
    }
    assertTrue(validSetsWithARefusedOrder > 0,
        "incremental admission is order-dependent: some valid sets are refused in some order");
  }

  @Test
  void withoutRejectingImagesEveryOrderIsAccepted() {
    for (int round = 0; round < ROUNDS / 3; round++) {
      List<PolicyImage> set = new ArrayList<>();
      for (PolicyImage p : randomPool(1 + random.nextInt(6))) {
        set.add(new PolicyImage(p.hash(), p.signer(), p.manifest(), p.selfAliases(),
            new LaunchPolicy(p.policy().accepts(), false)));
      }
      PolicyGraph g = PolicyGraph.empty();
      for (PolicyImage image : shuffled(set)) {
        Admission a = g.tryAdd(image);
        assertTrue(a.isAccepted(), "round " + round);
        g = a.graph();
      }
    }
  }

  /** Two orders that both load a whole set end with the same graph (same reachability). */
  @Test
  void fullyAcceptedOrdersEndInTheSameGraph() {
    int compared = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<PolicyImage> set = randomPool(2 + random.nextInt(5));
      Optional<PolicyGraph> a = loadAll(shuffled(set));
      Optional<PolicyGraph> b = loadAll(shuffled(set));
      if (a.isPresent() && b.isPresent()) {
        compared++;
        for (PolicyImage image : set) {
          assertEquals(
              idsOf(a.get().reachableFrom(image.imageId())).stream().sorted().toList(),
              idsOf(b.get().reachableFrom(image.imageId())).stream().sorted().toList());
        }
      }
    }
    assertTrue(compared > 0);
  }

  /** loadOrder finds an order exactly when one exists (brute force over all permutations). */
  @Test
  void loadOrderIsFoundExactlyWhenOneExists() {
    for (int round = 0; round < ROUNDS / 3; round++) {
      List<PolicyImage> set = randomPool(1 + random.nextInt(5));
      Optional<List<PolicyImage>> order = PolicyGraph.loadOrder(set);
      if (order.isPresent()) {
        assertTrue(loadAll(order.get()).isPresent(), "the order returned loads: round " + round);
        assertEquals(set.size(), order.get().size());
      } else {
        assertFalse(anyPermutationLoads(set, new ArrayList<>()),
            "loadOrder found nothing but a permutation loads: round " + round);
      }
    }
  }

  private static boolean anyPermutationLoads(List<PolicyImage> rest, List<PolicyImage> prefix) {
    if (rest.isEmpty()) {
      return loadAll(prefix).isPresent();
    }
    for (int i = 0; i < rest.size(); i++) {
      List<PolicyImage> r = new ArrayList<>(rest);
      List<PolicyImage> p = new ArrayList<>(prefix);
      p.add(r.remove(i));
      if (anyPermutationLoads(r, p)) {
        return true;
      }
    }
    return false;
  }

  private static Optional<PolicyGraph> loadAll(List<PolicyImage> order) {
    PolicyGraph g = PolicyGraph.empty();
    for (PolicyImage image : order) {
      Admission a = g.tryAdd(image);
      if (!a.isAccepted()) {
        return Optional.empty();
      }
      g = a.graph();
    }
    return Optional.of(g);
  }

  private static List<String> idsOf(List<PolicyImage> images) {
    return images.stream().map(PolicyImage::imageId).toList();
  }
}
