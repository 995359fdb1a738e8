package dev.confaas.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A small but real {@link ImageLoader} for exercising the agent's AddManifest/AddBlob/Finalize
 * plumbing until the image module's loader exists: it verifies an ECDSA P-384 signature (the
 * "certificate" is just the signer's SubjectPublicKeyInfo here), reads {@code layers}, and checks
 * blobs against their SHA-384. No canonical JSON, aliases or policy: those belong to the image
 * and policy modules.
 */
final class SimpleImageLoader implements ImageLoader {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Map<String, List<String>> layersByImage = new LinkedHashMap<>();
  private final Set<String> blobs = new LinkedHashSet<>();
  private boolean finalized;

  @Override
  public synchronized AddedManifest addManifest(byte[] manifest, byte[] signature, byte[] certificate)
      throws ImageRefusedException {
    if (finalized) {
      throw new ImageRefusedException(
          ImageRefusedException.Reason.FINALIZED, "the TD was finalized; no more manifests are accepted");
    }
    try {
      PublicKey key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(certificate));
      Signature verifier = Signature.getInstance("SHA384withECDSA");
      verifier.initVerify(key);
      verifier.update(manifest);
      if (!verifier.verify(signature)) {
        throw new ImageRefusedException(
            ImageRefusedException.Reason.BAD_SIGNATURE, "the manifest's signature does not verify against the certificate");
      }
    } catch (GeneralSecurityException e) {
      throw new ImageRefusedException(ImageRefusedException.Reason.MALFORMED, "bad key or signature: " + e.getMessage());
    }
    List<String> layers = new ArrayList<>();
    try {
      JsonNode root = JSON.readTree(manifest);
      root.path("layers").forEach(l -> layers.add(l.asText()));
    } catch (IOException e) {
      throw new ImageRefusedException(ImageRefusedException.Reason.MALFORMED, "manifest is not JSON: " + e.getMessage());
    }
    String imageId = "sha384/" + sha384(certificate) + "/" + sha384(manifest);
    boolean already = layersByImage.putIfAbsent(imageId, layers) != null;
    return new AddedManifest(imageId, missing(layers), already);
  }

  synchronized List<String> missing(List<String> layers) {
    return layers.stream().filter(l -> !blobs.contains(l)).toList();
  }

  @Override
  public synchronized BlobUpload startBlob(String digest, long totalSize) throws ImageRefusedException {
    if (layersByImage.values().stream().noneMatch(l -> l.contains(digest))) {
      throw new ImageRefusedException(
          ImageRefusedException.Reason.NOT_REFERENCED, "no loaded manifest references blob " + digest);
    }
    MessageDigest md = newDigest();
    return new BlobUpload() {
      @Override
      public void append(byte[] chunk) {
        md.update(chunk);
      }

      @Override
      public String finish() throws ImageRefusedException {
        String actual = "sha384/" + HexFormat.of().formatHex(md.digest());
        if (!actual.equals(digest)) {
          throw new ImageRefusedException(
              ImageRefusedException.Reason.DIGEST_MISMATCH, "the blob's bytes hash to " + actual + ", not " + digest);
        }
        synchronized (SimpleImageLoader.this) {
          blobs.add(digest);
        }
        return digest;
      }

      @Override
      public void abort() {}
    };
  }

  @Override
  public synchronized void finalizeImages() {
    finalized = true;
  }

  @Override
  public Optional<FunctionSpec> find(String imageId) {
    return Optional.empty();
  }

  @Override
  public List<FunctionSpec> loaded() {
    return List.of();
  }

  @Override
  public synchronized boolean finalized() {
    return finalized;
  }

  static String sha384(byte[] data) {
    return HexFormat.of().formatHex(newDigest().digest(data));
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
