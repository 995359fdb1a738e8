/**
 * Vendor FS layers: ACON aliases ({@code contents}, {@code self}), resolution of
 * {@code signer/HASH/SIGNER/NAME:SVN} references to layer digests through manifests signed by that signer,
 * publishing and updating vendor layers, and telling which loaded images hold an alias whose target changed.
 *
 * <p>Front door:
 *
 * <ul>
 *   <li>{@link dev.confaas.vendor.VendorLayerRegistry}: the on-disk registry a vendor publishes
 *       layers and signed alias manifests into (an {@code ImageRepository} plus a publication log);
 *       each publication gets a monotonic sequence number.
 *   <li>{@link dev.confaas.vendor.ContentAliases} and {@link dev.confaas.vendor.AliasResolver}: alias
 *       definitions bound to their signer, newest publication winning, chains followed with cycle
 *       and depth checks; {@code resolveLayers(manifest)} gives a function's layers bottom first.
 *   <li>{@link dev.confaas.vendor.AliasResolver#staleImages}: after an update, which loaded images
 *       ({@link dev.confaas.vendor.LoadedImage}: image ID + the alias bindings used when loaded) now
 *       resolve an alias differently, so the pool can drain and recycle their TDs.
 *   <li>{@link dev.confaas.vendor.PolicyImages#of}: a verified signed manifest as policy facts for
 *       {@code dev.confaas.policy.PolicyGraph}.
 * </ul>
 *
 * <p>Aliases are only ever taken from manifests whose signature verifies, and a reference resolves
 * only through its own signer's manifests; nothing unresolvable is guessed (no SVN fallback).
 */
package dev.confaas.vendor;
