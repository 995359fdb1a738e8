package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LayerRef;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The content aliases ({@code aliases.contents}) defined by a set of verified vendor manifests, each
 * bound to the signer of the manifest that defines it (<a
 * href="https://github.com/intel/ACON/blob/main/doc/Image.md#definition">Image.md, Aliases,
 * Definition</a>: "acond automatically prefixes every Alias by {@code signer/HASH/SIGNER/}"). A name
 * defined by signer S can only be referenced as {@code signer/HASH/S/NAME:SVN}; no other signer's
 * manifest can define or change it. Immutable.
 *
 * <p><b>Newest wins.</b> When several manifests of the same signer define the same {@code NAME:SVN}
 * (the vendor published an update), the definition from the manifest with the highest publication
 * sequence wins. The sequence is assigned by {@link VendorLayerRegistry} when it stores a manifest:
 * one more than any before, never reused, independent of clocks (a host clock is untrusted and can
 * go backwards). This is per alias: a newer manifest that no longer defines {@code Foo:1} leaves the
 * older definition of {@code Foo:1} in force (the vendor declared the new layer incompatible with
 * SVN 1, not that SVN 1 is gone). Inside one TD acond keeps the first definition it sees (its
 * symlinks are never replaced), which is why TDs holding an outdated alias are recycled, not
 * updated; see {@link AliasResolver#staleImages}.
 *
 * <p>Content aliases are matched exactly: a reference to {@code Foo:2} resolves only through a
 * definition of {@code Foo:2}. A vendor declares a new layer compatible with older SVNs by aliasing
 * all of them, as the spec describes.
 */
public final class ContentAliases {
  private static final ContentAliases EMPTY = new ContentAliases(Map.of());

  private final Map<AliasRef, AliasDefinition> newest;

  private ContentAliases(Map<AliasRef, AliasDefinition> newest) {
    this.newest = newest;
  }

  public static ContentAliases empty() {
    return EMPTY;
  }

  /**
   * Adds the definitions of a vendor manifest published with {@code sequence}, after verifying its
   * signature: aliases are only ever taken from signed manifests.
   *
   * @throws ImageVerificationException if the signature does not verify
   * @throws IllegalArgumentException if the manifest defines one alias for two different objects, or
   *     another manifest already defined an alias with the same sequence number
   */
  public ContentAliases plus(SignedManifest vendorManifest, long sequence)
      throws ImageVerificationException {
    vendorManifest.verify();
    Map<AliasRef, AliasDefinition> own = new LinkedHashMap<>();
    for (Map.Entry<LayerRef, java.util.List<NameSvn>> e :
        vendorManifest.manifest().aliases().contents().entrySet()) {
      for (NameSvn name : e.getValue()) {
        AliasRef ref = AliasRef.of(vendorManifest.signerId(), name);
        AliasDefinition def =
            new AliasDefinition(ref, e.getKey(), vendorManifest.imageId(), sequence);
        AliasDefinition clash = own.putIfAbsent(ref, def);
        if (clash != null && !clash.target().equals(def.target())) {
          throw new IllegalArgumentException(
              "manifest " + vendorManifest.imageId() + " defines alias " + name + " twice, for "
                  + clash.target() + " and " + def.target()
                  + "; an alias names one object, remove one of them");
        }
      }
    }
    Map<AliasRef, AliasDefinition> merged = new HashMap<>(newest);
    for (AliasDefinition def : own.values()) {
      AliasDefinition old = merged.get(def.alias());
      if (old == null || old.sequence() < def.sequence()) {
        merged.put(def.alias(), def);
      } else if (old.sequence() == def.sequence() && !old.definedBy().equals(def.definedBy())) {
        throw new IllegalArgumentException(
            "publication sequence " + sequence + " is used by both " + old.definedBy() + " and "
                + def.definedBy() + "; sequence numbers must be unique");
      }
    }
    return new ContentAliases(Map.copyOf(merged));
  }

  /** The newest definition of {@code ref}, if any signed manifest of its signer defines it. */
  public Optional<AliasDefinition> definition(AliasRef ref) {
    return Optional.ofNullable(newest.get(ref));
  }

  /** The newest definition of every alias, in no particular order. */
  public Collection<AliasDefinition> definitions() {
    return newest.values();
  }
}
