package dev.confaas.runtime;

import java.util.List;

/**
 * Loads signed ACON images into the TD: the seam where the image, vendor-layers and policy modules
 * plug into the agent. Implementations verify each manifest's signature, resolve vendor-layer
 * aliases, check launch policies against the images already loaded, measure each newly loaded
 * image into RTMR3 ({@code github.com/intel/ACON AddManifest <IMAGE_ID>}), keep layer blobs, and
 * serve the complete images as {@link FunctionSpec}s (their merged layers as a {@link
 * FunctionSpec.RootLayout#FULL_ROOTFS}).
 *
 * <p>{@link TdAgentService} checks request shapes and sizes before calling; refusals are thrown as
 * {@link ImageRefusedException} with the failed check in the message.
 */
interface ImageLoader extends LoadedFunctions {
  /** The outcome of AddManifest. */
  record AddedManifest(String imageId, List<String> missingLayers, boolean alreadyLoaded) {
    public AddedManifest {
      missingLayers = List.copyOf(missingLayers);
    }
  }

  /**
   * A loaded image as Inspect shows it.
   *
   * @param layers every layer digest in manifest order, aliases resolved
   * @param missingLayers those still to be uploaded
   * @param maxInstances the manifest's maxInstances, 0 = no limit
   */
  record ImageStatus(String imageId, List<String> layers, List<String> missingLayers, int maxInstances) {
    public ImageStatus {
      layers = List.copyOf(layers);
      missingLayers = List.copyOf(missingLayers);
    }
  }

  /** Every loaded image, complete or not, in load order; empty if the loader does not say. */
  default List<ImageStatus> images() {
    return List.of();
  }

  /** Verifies, policy-checks, measures and keeps a manifest (ACON AddManifest). */
  AddedManifest addManifest(byte[] manifest, byte[] signature, byte[] certificate)
      throws ImageRefusedException;

  /**
   * Starts receiving a layer blob. Refused (NOT_REFERENCED) unless a loaded manifest names it.
   *
   * @param digest {@code sha384/<96 hex>} of the uncompressed tar
   * @param totalSize bytes that will follow
   */
  BlobUpload startBlob(String digest, long totalSize) throws ImageRefusedException;

  /** Closes the TD to new manifests and measures {@code github.com/intel/ACON Finalize}. */
  void finalizeImages() throws ImageRefusedException;

  /** One blob being received, in order. */
  interface BlobUpload {
    /** The next bytes. */
    void append(byte[] chunk) throws ImageRefusedException;

    /** All bytes are in: verify the digest and keep the blob; returns the digest. */
    String finish() throws ImageRefusedException;

    /** The upload failed or was abandoned: forget what was received. */
    void abort();
  }
}
