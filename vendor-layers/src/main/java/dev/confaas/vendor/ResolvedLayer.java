package dev.confaas.vendor;

import dev.confaas.image.Digest;
import dev.confaas.image.LayerRef;
import java.util.List;
import java.util.Optional;

/**
 * One {@code layers} entry and what it resolved to.
 *
 * @param entry the entry as the manifest lists it: a digest or {@code signer/HASH/SIGNER/NAME:SVN}
 * @param digest the layer digest it resolves to; empty if it does not resolve
 * @param chain the alias definitions followed, in order (empty for a digest entry)
 * @param problem why it does not resolve, naming the reference and the chain; empty if resolved
 */
public record ResolvedLayer(
    LayerRef entry, Optional<Digest> digest, List<AliasDefinition> chain, Optional<String> problem) {

  public ResolvedLayer {
    chain = List.copyOf(chain);
  }

  public boolean isResolved() {
    return digest.isPresent();
  }
}
