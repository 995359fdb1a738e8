package dev.confaas.scheduler;

import dev.confaas.policy.Admission;
import dev.confaas.policy.PolicyGraph;
import dev.confaas.policy.PolicyImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Where a new instance of a function goes (ARCHITECTURE.md, flow 3), decided on the host from the
 * images' launch policies; the agent checks again when the manifests arrive. Pure: no I/O.
 *
 * <p>Order of preference among TDs that take work, have room, and whose images and the function's
 * load chain (its dependencies, then itself) accept each other: a TD that already holds the function
 * image (no load), then one holding images of the same signer (packing one author's functions
 * together), then the fullest (packing keeps other TDs free for other policies). Otherwise a fresh TD.
 */
public final class Placement {
  private Placement() {}

  /**
   * A TD as placement sees it.
   *
   * @param tdId the TD
   * @param images images loaded or being loaded into it, in load order
   * @param instances instances on it (running or starting)
   * @param instancesOfImage instances of the function image being placed
   */
  public record TdView(String tdId, List<PolicyImage> images, int instances, int instancesOfImage) {}

  /** The decision: an existing TD ({@code tdId} set), or a fresh one from the pool. */
  public record Choice(Optional<String> tdId, String why) {
    static Choice fresh(String why) {
      return new Choice(Optional.empty(), why);
    }
  }

  /**
   * @param chain the images the function needs, in load order: dependencies then the function image
   * @param maxInstancesOfImage the image's {@code maxInstances} per TD; 0 = unlimited
   * @param maxInstancesPerTd the platform's cap of instances per TD
   * @throws PlacementException when the chain's own policies refuse to share even an empty TD
   */
  public static Choice choose(
      List<PolicyImage> chain,
      long maxInstancesOfImage,
      int maxInstancesPerTd,
      List<TdView> tds) {
    Optional<String> alone = refusal(List.of(), chain);
    if (alone.isPresent()) {
      throw new PlacementException(
          "the function's images cannot be loaded into one TD together: "
              + alone.get()
              + "; fix the launch policies (policy.accepts) of its image or its dependencies");
    }
    PolicyImage function = chain.get(chain.size() - 1);
    List<TdView> fits = new ArrayList<>();
    for (TdView td : tds) {
      if (td.instances() >= maxInstancesPerTd) {
        continue;
      }
      if (maxInstancesOfImage > 0 && td.instancesOfImage() >= maxInstancesOfImage) {
        continue;
      }
      if (refusal(td.images(), chain).isEmpty()) {
        fits.add(td);
      }
    }
    if (fits.isEmpty()) {
      return Choice.fresh(
          tds.isEmpty()
              ? "no TD in use yet"
              : "none of " + tds.size() + " TDs in use has room and a policy that admits it");
    }
    Comparator<TdView> best =
        Comparator.<TdView>comparingInt(td -> holds(td, function) ? 0 : 1)
            .thenComparingInt(td -> sameSigner(td, function) ? 0 : 1)
            .thenComparingInt(td -> -td.instances())
            .thenComparing(TdView::tdId);
    TdView chosen = fits.stream().min(best).orElseThrow();
    String why =
        holds(chosen, function)
            ? "already holds the image"
            : sameSigner(chosen, function)
                ? "holds images of the same signer and their policies admit it"
                : "its images' policies admit it";
    return new Choice(Optional.of(chosen.tdId()), why);
  }

  /**
   * Why {@code chain} may not be loaded, image by image, into a TD holding {@code loaded}; empty
   * when it may. Every prefix must be valid, as the agent checks after each AddManifest.
   */
  static Optional<String> refusal(List<PolicyImage> loaded, List<PolicyImage> chain) {
    PolicyGraph graph = PolicyGraph.empty();
    for (PolicyImage image : loaded) {
      Admission a = graph.tryAdd(image);
      graph = a.graph(); // what is loaded is loaded; judge only the additions
    }
    for (PolicyImage image : chain) {
      Admission a = graph.tryAdd(image);
      if (a instanceof Admission.Refused r) {
        return Optional.of(r.message());
      }
      graph = a.graph();
    }
    return Optional.empty();
  }

  private static boolean holds(TdView td, PolicyImage image) {
    return td.images().stream().anyMatch(i -> i.imageId().equals(image.imageId()));
  }

  private static boolean sameSigner(TdView td, PolicyImage image) {
    return td.images().stream().anyMatch(i -> i.signer().equals(image.signer()));
  }

  /** The function's images refuse each other; no TD could take it. */
  static final class PlacementException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PlacementException(String message) {
      super(message);
    }
  }
}
