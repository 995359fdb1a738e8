/**
 * The ACON image model: manifests with ACON's field names, their canonical JSON (as {@code jq -jcS}
 * prints it), signer and image IDs, ECDSA P-384 signing and verification, layer blobs addressed by
 * the SHA-384 of the uncompressed tar, safe unpacking, the on-disk image repository, and import of
 * OCI images.
 *
 * <h2>Map of the public types</h2>
 *
 * <ul>
 *   <li>{@link dev.confaas.image.Manifest} (with {@code Manifest.Builder}, {@code Aliases}, {@code
 *       Policy}): parse and validate a manifest, keep its authored bytes, give its canonical bytes.
 *       Invalid input throws {@link dev.confaas.image.ManifestException} naming the field.
 *   <li>{@link dev.confaas.image.CanonicalJson}: {@code jq -jcS .} in Java, byte for byte (jq 1.6).
 *   <li>Identifiers: {@link dev.confaas.image.HashAlgorithm}, {@link dev.confaas.image.Digest}
 *       ({@code sha384/hex}), {@link dev.confaas.image.SignerId} ({@code HASH/hex(HASH(cert
 *       DER))}), {@link dev.confaas.image.ImageId} ({@code HASH/SIGNER/MANIFEST}), {@link
 *       dev.confaas.image.LayerRef} (a {@code Digest} or an {@link dev.confaas.image.AliasRef}
 *       {@code signer/HASH/SIGNER/NAME:SVN}), {@link dev.confaas.image.NameSvn} ({@code NAME:SVN}).
 *   <li>Signing: {@link dev.confaas.image.SigningKeys} (generate P-384 keys and a self-signed
 *       certificate, read/write PEM), {@link dev.confaas.image.ImageSigner} (sign a manifest),
 *       {@link dev.confaas.image.SignedManifest} (manifest + signature + certificate: IDs and
 *       {@code verify()}, failing with {@link dev.confaas.image.ImageVerificationException}).
 *   <li>Layers: {@link dev.confaas.image.LayerDigests} ({@code sha384/...} of the uncompressed tar,
 *       gzip detected), {@link dev.confaas.image.LayerTar} (reproducible tar of a directory),
 *       {@link dev.confaas.image.LayerUnpacker} (hostile-tar-safe unpacking with OCI whiteouts),
 *       failing with {@link dev.confaas.image.LayerException} naming the entry.
 *   <li>{@link dev.confaas.image.ImageLimits}: how big a layer, an image, a path and a manifest may
 *       be; enforced while bytes stream by the repository (deploy) and the unpacker (TD agent)
 *       alike, so a tar bomb stops at the limit.
 *   <li>{@link dev.confaas.image.ImageRepository}: blobs by digest and signed images by image ID on
 *       disk, written atomically, verified in and out, within its limits; names for images.
 *   <li>{@link dev.confaas.image.OciImporter}: an OCI image layout or {@code docker save} tar to an
 *       unsigned manifest plus decompressed layers.
 * </ul>
 *
 * <p>Decisions worth knowing: unknown manifest fields and repeated keys are rejected ({@link
 * dev.confaas.image.Manifest}); canonical JSON accepts strict RFC 8259 only, where jq 1.6 is more
 * lenient; only SHA-256/384/512 exist as hash names, so SHA-1 or MD5 cannot slip through.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md">ACON image specification</a>
 */
package dev.confaas.image;
