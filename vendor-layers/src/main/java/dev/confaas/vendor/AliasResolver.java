package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerRef;
import dev.confaas.image.Manifest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves {@code layers} entries to layer digests through the content aliases of verified vendor
 * manifests ({@link ContentAliases}).
 *
 * <p>An alias may point to another alias (the spec's {@code SharedLayerC} example), possibly of
 * another signer; chains are followed up to {@value #MAX_DEPTH} definitions, a cycle is reported as
 * such, and an alias no signed manifest of its signer defines is reported as missing with the chain
 * that led to it. Nothing is guessed: there is no fallback to another SVN or another signer.
 */
public final class AliasResolver {
  /** Longest chain of alias definitions followed; the spec's own example needs two. */
  public static final int MAX_DEPTH = 8;

  private final ContentAliases aliases;

  public AliasResolver(ContentAliases aliases) {
    this.aliases = aliases;
  }

  /** Resolves one {@code layers} entry: a digest resolves to itself, an alias through its chain. */
  public ResolvedLayer resolve(LayerRef entry) {
    if (entry instanceof Digest d) {
      return new ResolvedLayer(entry, Optional.of(d), List.of(), Optional.empty());
    }
    AliasRef ref = (AliasRef) entry;
    List<AliasDefinition> chain = new ArrayList<>();
    Set<AliasRef> seen = new LinkedHashSet<>();
    LayerRef current = ref;
    while (current instanceof AliasRef alias) {
      if (!seen.add(alias)) {
        return unresolved(entry, chain,
            "alias " + ref + " is part of a cycle: " + path(chain) + " -> " + alias);
      }
      if (chain.size() == MAX_DEPTH) {
        return unresolved(entry, chain,
            "alias " + ref + " needs more than " + MAX_DEPTH + " steps to reach a layer: "
                + path(chain) + "; point the alias at a digest");
      }
      Optional<AliasDefinition> def = aliases.definition(alias);
      if (def.isEmpty()) {
        String via = chain.isEmpty() ? "" : " (reached via " + path(chain) + ")";
        return unresolved(entry, chain,
            "alias " + alias + via + " is not defined by any published manifest signed by "
                + alias.signerId() + "; the vendor must publish a signed manifest whose "
                + "aliases.contents defines " + alias.nameSvn());
      }
      chain.add(def.get());
      current = def.get().target();
    }
    return new ResolvedLayer(entry, Optional.of((Digest) current), chain, Optional.empty());
  }

  /** Resolves every {@code layers} entry of {@code manifest}, bottom first; reports all failures. */
  public LayerResolution resolveLayers(Manifest manifest) {
    List<ResolvedLayer> out = new ArrayList<>();
    for (LayerRef entry : manifest.layers()) {
      out.add(resolve(entry));
    }
    return new LayerResolution(out);
  }

  /**
   * The loaded images one of whose aliases now resolves to another digest than when it was loaded,
   * or no longer resolves.
   */
  public StaleAliasReport staleImages(Collection<LoadedImage> loaded) {
    List<StaleAliasReport.StaleImage> stale = new ArrayList<>();
    for (LoadedImage image : loaded) {
      List<StaleAliasReport.ChangedAlias> changes = new ArrayList<>();
      for (Map.Entry<AliasRef, Digest> e : image.aliasBindings().entrySet()) {
        ResolvedLayer now = resolve(e.getKey());
        if (now.digest().isPresent() && now.digest().get().equals(e.getValue())) {
          continue;
        }
        String why = now.digest().isPresent()
            ? e.getKey() + " moved from " + e.getValue() + " to " + now.digest().get()
                + " (now defined by manifest " + now.chain().get(now.chain().size() - 1).definedBy()
                + ", publication " + now.chain().get(now.chain().size() - 1).sequence() + ")"
            : now.problem().orElseThrow();
        changes.add(new StaleAliasReport.ChangedAlias(e.getKey(), e.getValue(), now.digest(), why));
      }
      if (!changes.isEmpty()) {
        stale.add(new StaleAliasReport.StaleImage(image.imageId(), changes));
      }
    }
    return new StaleAliasReport(stale);
  }

  private static ResolvedLayer unresolved(LayerRef entry, List<AliasDefinition> chain, String why) {
    return new ResolvedLayer(entry, Optional.empty(), chain, Optional.of(why));
  }

  private static String path(List<AliasDefinition> chain) {
    StringBuilder b = new StringBuilder();
    for (AliasDefinition d : chain) {
      b.append(b.length() == 0 ? "" : " -> ").append(d.alias());
    }
    return b.toString();
  }
}
