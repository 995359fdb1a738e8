/**
 * Vendor FS layers: ACON aliases ({@code contents}, {@code self}), resolution of
 * {@code signer/HASH/SIGNER/NAME:SVN} references to layer digests through manifests signed by that signer,
 * publishing and updating vendor layers, and telling which loaded images hold an alias whose target changed.
 */
package dev.confaas.vendor;
