/**
 * The ACON image model: manifests with ACON's field names, their canonical JSON (as {@code jq -jcS} prints it),
 * signer and image IDs, ECDSA P-384 signing and verification, layer blobs addressed by the SHA-384 of the
 * uncompressed tar, safe unpacking, the on-disk image repository, and import of OCI images.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md">ACON image specification</a>
 */
package dev.confaas.image;
