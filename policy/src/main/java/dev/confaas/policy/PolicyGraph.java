package dev.confaas.policy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The policy graph of the images loaded into one TD (<a
 * href="https://github.com/intel/ACON/blob/main/doc/Image.md#definition-1">Image.md, Launch Policy,
 * Definition</a>): vertices are images, an edge A→B exists when a rule of A's {@code accepts} matches B.
 * Immutable; {@link #tryAdd} returns a new graph.
 *
 * <p>A graph is valid when no vertex has {@code rejectUnaccepted}, or every vertex is reachable from
 * each vertex that has it. Like acond, a TD's graph must be valid after every load: {@link #tryAdd}
 * builds the would-be graph and keeps it only if valid. See the package documentation for why this
 * makes incremental loading order-dependent and how {@link #loadOrder} helps.
 */
public final class PolicyGraph {
  /** {@link #loadOrder} searches subsets of the images; beyond this many it would be too slow. */
  static final int MAX_LOAD_ORDER_IMAGES = 20;

  private static final PolicyGraph EMPTY = new PolicyGraph(List.of(), List.of(), Map.of());

  private final List<PolicyImage> images; // in load order
  private final List<BitSet> accepts; // accepts.get(i) = indexes of images that images.get(i) accepts
  private final Map<String, Integer> indexById;

  private PolicyGraph(
      List<PolicyImage> images, List<BitSet> accepts, Map<String, Integer> indexById) {
    this.images = images;
    this.accepts = accepts;
    this.indexById = indexById;
  }

  /** The graph of a freshly booted TD: no images. */
  public static PolicyGraph empty() {
    return EMPTY;
  }

  /**
   * Admits {@code candidate} if the would-be graph (this one plus the candidate and its edges) is
   * valid. An image whose ID is already loaded is accepted without change, as acond does.
   */
  public Admission tryAdd(PolicyImage candidate) {
    if (indexById.containsKey(candidate.imageId())) {
      return new Admission.Accepted(this, true);
    }
    PolicyGraph wouldBe = plus(candidate);
    PolicyViolation violation = wouldBe.firstViolation();
    return violation == null
        ? new Admission.Accepted(wouldBe, false)
        : new Admission.Refused(this, candidate, violation);
  }

  /**
   * May {@code candidate} join a TD that has loaded {@code loaded}? Judges the would-be set as a whole,
   * exactly as the agent will when the candidate's manifest arrives (the scheduler calls this to
   * choose a TD; the agent inside the TD keeps a {@link PolicyGraph} and calls {@link #tryAdd}).
   */
  public static Admission mayJoin(Collection<PolicyImage> loaded, PolicyImage candidate) {
    return unchecked(loaded).tryAdd(candidate);
  }

  /**
   * Whether {@code images} may share one TD, regardless of the order they are loaded in: empty if
   * valid, otherwise the first violation found.
   */
  public static Optional<PolicyViolation> validate(Collection<PolicyImage> images) {
    return Optional.ofNullable(unchecked(images).firstViolation());
  }

  /**
   * An order in which {@code images} can be loaded one by one such that the graph is valid after each
   * load, or empty if there is none (either the set itself is invalid, or, rarely, every order passes
   * through an invalid prefix, e.g. three images with {@code rejectUnaccepted} accepting each other in
   * a cycle). Searches subsets, so at most {@value #MAX_LOAD_ORDER_IMAGES} distinct images.
   */
  public static Optional<List<PolicyImage>> loadOrder(Collection<PolicyImage> images) {
    PolicyGraph all = unchecked(images);
    int n = all.images.size();
    if (n > MAX_LOAD_ORDER_IMAGES) {
      throw new IllegalArgumentException(
          "cannot search a load order for " + n + " images; at most " + MAX_LOAD_ORDER_IMAGES);
    }
    if (all.firstViolation() != null) {
      return Optional.empty();
    }
    List<Integer> order = new ArrayList<>(n);
    if (!all.searchOrder(0L, order, new HashSet<>())) {
      return Optional.empty();
    }
    List<PolicyImage> result = new ArrayList<>(n);
    for (int i : order) {
      result.add(all.images.get(i));
    }
    return Optional.of(List.copyOf(result));
  }

  /** The loaded images, in load order. */
  public List<PolicyImage> images() {
    return images;
  }

  /** True if an image with this ID ({@code HASH/SIGNER/MANIFEST}) is loaded. */
  public boolean contains(String imageId) {
    return indexById.containsKey(imageId);
  }

  /** Number of loaded images. */
  public int size() {
    return images.size();
  }

  /**
   * The images reachable from {@code imageId} through accepts, itself first, in load order: those it
   * accepts directly or transitively.
   *
   * @throws IllegalArgumentException if no such image is loaded
   */
  public List<PolicyImage> reachableFrom(String imageId) {
    Integer i = indexById.get(imageId);
    if (i == null) {
      throw new IllegalArgumentException("image " + imageId + " is not in this policy graph");
    }
    return toImages(i, reach(i, fullMask()));
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("PolicyGraph[");
    for (int i = 0; i < images.size(); i++) {
      b.append(i == 0 ? "" : ", ").append(images.get(i).imageId()).append(" -> ")
          .append(accepts.get(i));
    }
    return b.append(']').toString();
  }

  // --- internals -------------------------------------------------------------------------------

  /** A graph of these images without checking validity; duplicates (same image ID) collapse. */
  private static PolicyGraph unchecked(Collection<PolicyImage> images) {
    Map<String, PolicyImage> unique = new LinkedHashMap<>();
    for (PolicyImage image : images) {
      unique.putIfAbsent(image.imageId(), image);
    }
    PolicyGraph g = EMPTY;
    for (PolicyImage image : unique.values()) {
      g = g.plus(image);
    }
    return g;
  }

  private PolicyGraph plus(PolicyImage candidate) {
    int n = images.size();
    List<PolicyImage> newImages = new ArrayList<>(images);
    newImages.add(candidate);
    List<BitSet> newAccepts = new ArrayList<>(n + 1);
    BitSet fromCandidate = new BitSet(n + 1);
    for (int i = 0; i < n; i++) {
      BitSet edges = accepts.get(i);
      if (images.get(i).policy().acceptsDirectly(candidate)) {
        edges = (BitSet) edges.clone();
        edges.set(n);
      }
      newAccepts.add(edges);
      if (candidate.policy().acceptsDirectly(images.get(i))) {
        fromCandidate.set(i);
      }
    }
    newAccepts.add(fromCandidate);
    Map<String, Integer> newIndex = new HashMap<>(indexById);
    newIndex.put(candidate.imageId(), n);
    return new PolicyGraph(List.copyOf(newImages), List.copyOf(newAccepts), Map.copyOf(newIndex));
  }

  private BitSet fullMask() {
    BitSet all = new BitSet(images.size());
    all.set(0, images.size());
    return all;
  }

  /** Vertices reachable from {@code start} using only vertices in {@code within}. */
  private BitSet reach(int start, BitSet within) {
    BitSet seen = new BitSet(images.size());
    Deque<Integer> todo = new ArrayDeque<>();
    seen.set(start);
    todo.add(start);
    while (!todo.isEmpty()) {
      BitSet next = accepts.get(todo.poll());
      for (int j = next.nextSetBit(0); j >= 0; j = next.nextSetBit(j + 1)) {
        if (within.get(j) && !seen.get(j)) {
          seen.set(j);
          todo.add(j);
        }
      }
    }
    return seen;
  }

  private List<PolicyImage> toImages(int first, BitSet set) {
    List<PolicyImage> out = new ArrayList<>(set.cardinality());
    out.add(images.get(first));
    for (int j = set.nextSetBit(0); j >= 0; j = set.nextSetBit(j + 1)) {
      if (j != first) {
        out.add(images.get(j));
      }
    }
    return out;
  }

  /** The first (in load order) rejecting image that does not reach some image, or null if valid. */
  private PolicyViolation firstViolation() {
    BitSet all = fullMask();
    for (int r = 0; r < images.size(); r++) {
      if (!images.get(r).policy().rejectUnaccepted()) {
        continue;
      }
      BitSet seen = reach(r, all);
      int missing = seen.nextClearBit(0);
      if (missing < images.size()) {
        return PolicyViolation.explain(images.get(r), images.get(missing), toImages(r, seen));
      }
    }
    return null;
  }

  /** Whether the sub-graph induced by {@code subset} is valid. */
  private boolean isValid(BitSet subset) {
    for (int r = subset.nextSetBit(0); r >= 0; r = subset.nextSetBit(r + 1)) {
      if (images.get(r).policy().rejectUnaccepted()) {
        BitSet seen = reach(r, subset);
        if (!seen.equals(subset)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Depth-first search over loaded subsets (bit masks); {@code dead} remembers dead ends. */
  private boolean searchOrder(long loaded, List<Integer> order, Set<Long> dead) {
    int n = images.size();
    if (order.size() == n) {
      return true;
    }
    if (dead.contains(loaded)) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      long next = loaded | (1L << i);
      if (next != loaded && isValid(BitSet.valueOf(new long[] {next}))) {
        order.add(i);
        if (searchOrder(next, order, dead)) {
          return true;
        }
        order.remove(order.size() - 1);
      }
    }
    dead.add(loaded);
    return false;
  }
}
