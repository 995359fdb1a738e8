package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A manifest's {@code layers}, each resolved (or not), bottom layer first as in the manifest.
 *
 * @param layers one per {@code layers} entry, in order
 */
public record LayerResolution(List<ResolvedLayer> layers) {

  public LayerResolution {
    layers = List.copyOf(layers);
  }

  /** True if every entry resolved. */
  public boolean isComplete() {
    return layers.stream().allMatch(ResolvedLayer::isResolved);
  }

  /** The entries that did not resolve. */
  public List<ResolvedLayer> unresolved() {
    return layers.stream().filter(l -> !l.isResolved()).toList();
  }

  /**
   * The concrete layer digests, bottom first.
   *
   * @throws UnresolvedLayerException listing every entry that does not resolve
   */
  public List<Digest> digests() throws UnresolvedLayerException {
    List<ResolvedLayer> missing = unresolved();
    if (!missing.isEmpty()) {
      throw new UnresolvedLayerException(missing);
    }
    List<Digest> out = new ArrayList<>(layers.size());
    for (ResolvedLayer l : layers) {
      out.add(l.digest().orElseThrow());
    }
    return out;
  }

  /**
   * For each alias entry that resolved: the digest it resolved to. Keep this with a loaded image
   * ({@link LoadedImage}) to tell later whether the vendor has moved the alias.
   */
  public Map<AliasRef, Digest> aliasBindings() {
    Map<AliasRef, Digest> out = new LinkedHashMap<>();
    for (ResolvedLayer l : layers) {
      if (l.entry() instanceof AliasRef ref && l.digest().isPresent()) {
        out.put(ref, l.digest().get());
      }
    }
    return out;
  }
}
