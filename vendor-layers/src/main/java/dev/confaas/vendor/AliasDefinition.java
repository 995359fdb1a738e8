package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.ImageId;
import dev.confaas.image.LayerRef;

/**
 * One content alias as a verified manifest defines it: the manifest signed by {@code alias}'s signer
 * maps {@code alias} to {@code target} (a layer digest or another alias reference).
 *
 * @param alias {@code signer/HASH/SIGNER/NAME:SVN}, SIGNER being the defining manifest's signer
 * @param target what the alias points to
 * @param definedBy image ID of the defining manifest
 * @param sequence the registry's publication sequence number of that manifest; higher is newer
 */
public record AliasDefinition(AliasRef alias, LayerRef target, ImageId definedBy, long sequence) {}
