package dev.confaas.runtime;

import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.TdxGuest;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageLimits;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LambdaReservedEnv;
import dev.confaas.image.LayerUnpacker;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.policy.Admission;
import dev.confaas.policy.PolicyGraph;
import dev.confaas.vendor.AliasResolver;
import dev.confaas.vendor.ContentAliases;
import dev.confaas.vendor.PolicyImages;
import dev.confaas.vendor.UnresolvedLayerException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The agent's {@link ImageLoader}: ACON's AddManifest, AddBlob and Finalize, every check made here
 * whatever the host already checked (ACON doc/Image.md; acond {@code server.rs}).
 *
 * <p>AddManifest, in order: the manifest must arrive as its canonical bytes ({@code jq -jcS}, what
 * acond hashes); the signature must verify against the certificate ({@link SignedManifest#verify});
 * every {@code layers} entry must resolve — a digest as itself, a vendor alias {@code
 * signer/HASH/SIGNER/NAME:SVN} only through the {@code aliases.contents} of a manifest of that
 * signer already loaded into this TD (or the manifest itself); the launch policies of the image and
 * of those loaded must accept each other ({@link PolicyGraph#tryAdd}); then the image is measured
 * into RTMR3 as {@code github.com/intel/ACON AddManifest <IMAGE_ID>} (preceded by acond's {@code
 * INIT} line on the first load). Inside one TD the first definition of an alias stays in force, as
 * acond's symlinks do: a later vendor manifest cannot re-point a layer an image already uses.
 *
 * <p>AddBlob: only for a digest a loaded manifest references; the streamed bytes (the uncompressed
 * tar) are hashed and must match; the tar is then unpacked once ({@link LayerUnpacker}, hostile-tar
 * safe) under {@code STATE/layers/<hex>} and shared read-only by every instance of every image that
 * names it.
 *
 * <p>Limits ({@link ImageLimits}, the same code the host's image repository enforces at deploy): a
 * manifest over {@code image.maxManifestBytes} is refused before it is parsed; a blob is refused
 * as soon as more than {@code image.maxLayerBytes} arrive, and while it is unpacked (a gzip blob
 * is inflated only up to that limit), as are too many entries or too long or deep paths; a layer
 * that would take any loaded image naming it past {@code image.maxImageBytes} is refused too. A
 * refused blob leaves no file behind.
 */
public final class AconImageLoader implements ImageLoader {

  private final Path layersDir;
  private final Path uploadsDir;
  private final TdxGuest tdx;
  private final ImageLimits limits;
  private final Duration initTimeout;
  private final AtomicLong uploads = new AtomicLong();

  private final Map<String, Loaded> images = new LinkedHashMap<>();
  private final Map<Digest, Path> layers = new LinkedHashMap<>();
  private final Map<Digest, Long> layerBytes = new LinkedHashMap<>();
  private ContentAliases aliases = ContentAliases.empty();
  private long nextSequence = Long.MAX_VALUE; // counts down: the first definition in a TD wins
  private PolicyGraph policy = PolicyGraph.empty();
  private RtmrLog rtmr3 = RtmrLog.empty();
  private boolean finalized;

  private record Loaded(SignedManifest signed, List<Digest> layers) {}

  /**
   * @param stateDir the agent's state directory; layers are kept under {@code layers/}
   * @param tdx the TD's TDX module, whose RTMR3 receives the measurements
   */
  public AconImageLoader(Path stateDir, TdxGuest tdx) throws IOException {
    this(stateDir, tdx, ImageLimits.defaults());
  }

  /**
   * @param limits what manifests, blobs and images may hold, as the host's deploy checks them
   */
  public AconImageLoader(Path stateDir, TdxGuest tdx, ImageLimits limits) throws IOException {
    this(stateDir, tdx, limits, FunctionSpec.DEFAULT_INIT_TIMEOUT);
  }

  /**
   * @param initTimeout how long each new instance of a loaded image has to call {@code
   *     invocation/next} for the first time (Lambda's 10 s, or longer on a slow TD)
   */
  public AconImageLoader(Path stateDir, TdxGuest tdx, ImageLimits limits, Duration initTimeout)
      throws IOException {
    this.initTimeout = java.util.Objects.requireNonNull(initTimeout, "initTimeout");
    this.layersDir = Files.createDirectories(stateDir.resolve("layers"));
    this.uploadsDir = Files.createDirectories(stateDir.resolve("uploads"));
    this.tdx = tdx;
    this.limits = limits;
  }

  /** RTMR3's log so far, ACON format. */
  public synchronized RtmrLog rtmr3Log() {
    return rtmr3;
  }

  @Override
  public synchronized AddedManifest addManifest(
      byte[] manifest, byte[] signature, byte[] certificate) throws ImageRefusedException {
    if (finalized) {
      throw refused(
          ImageRefusedException.Reason.FINALIZED,
          "this TD was finalized (github.com/intel/ACON Finalize is measured); it accepts no new"
              + " manifests. Load the image into a fresh TD");
    }
    SignedManifest signed;
    try {
      signed = SignedManifest.parse(manifest, signature, certificate, limits);
    } catch (IllegalArgumentException e) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED, "manifest is invalid: " + e.getMessage());
    } catch (ImageVerificationException e) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED, "certificate is unusable: " + e.getMessage());
    }
    Manifest m = signed.manifest();
    if (!Arrays.equals(manifest, m.canonicalBytes())) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED,
          "manifest is not in canonical form (jq -jcS: sorted keys, no whitespace); send"
              + " Manifest.canonicalBytes(), the bytes acond hashes into the image ID");
    }
    try {
      signed.verify();
    } catch (ImageVerificationException e) {
      throw refused(
          ImageRefusedException.Reason.BAD_SIGNATURE,
          "manifest of image " + signed.imageId() + " refused: " + e.getMessage());
    }
    String imageId = signed.imageId().toString();
    Loaded already = images.get(imageId);
    if (already != null) {
      return new AddedManifest(imageId, missing(already.layers()), true);
    }

    ContentAliases withOwn;
    try {
      withOwn = aliases.plus(signed, nextSequence);
    } catch (ImageVerificationException e) {
      throw refused(ImageRefusedException.Reason.BAD_SIGNATURE, e.getMessage());
    } catch (IllegalArgumentException e) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED, "image " + imageId + ": " + e.getMessage());
    }
    List<Digest> resolved;
    try {
      resolved = new AliasResolver(withOwn).resolveLayers(m).digests();
    } catch (UnresolvedLayerException e) {
      throw refused(
          ImageRefusedException.Reason.UNRESOLVED_LAYER,
          "image "
              + imageId
              + " refused: "
              + e.getMessage()
              + ". Load the vendor manifest that defines the alias into this TD first");
    }
    try {
      envRules(m);
    } catch (IllegalArgumentException e) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED, "image " + imageId + ": " + e.getMessage());
    }
    Admission admission;
    try {
      admission = policy.tryAdd(PolicyImages.of(signed));
    } catch (ImageVerificationException e) {
      throw refused(ImageRefusedException.Reason.BAD_SIGNATURE, e.getMessage());
    } catch (IllegalArgumentException e) {
      throw refused(ImageRefusedException.Reason.MALFORMED, e.getMessage());
    }
    if (admission instanceof Admission.Refused r) {
      throw refused(ImageRefusedException.Reason.POLICY_CONFLICT, r.message());
    }

    // Measure before the image counts as loaded: a failed extension loads nothing.
    RtmrLog next = rtmr3.appendManifest(imageId);
    for (String line : next.lines().subList(rtmr3.size(), next.size())) {
      tdx.extendRtmr(3, sha384(line.getBytes(StandardCharsets.US_ASCII)));
    }
    rtmr3 = next;
    aliases = withOwn;
    nextSequence--;
    policy = admission.graph();
    images.put(imageId, new Loaded(signed, resolved));
    return new AddedManifest(imageId, missing(resolved), false);
  }

  private List<String> missing(List<Digest> needed) {
    Set<String> out = new LinkedHashSet<>();
    for (Digest d : needed) {
      if (!layers.containsKey(d)) {
        out.add(d.toString());
      }
    }
    return List.copyOf(out);
  }

  @Override
  public BlobUpload startBlob(String digest, long totalSize) throws ImageRefusedException {
    Digest expected;
    try {
      expected = Digest.parse(digest);
    } catch (IllegalArgumentException e) {
      throw refused(ImageRefusedException.Reason.MALFORMED, "blob digest: " + e.getMessage());
    }
    synchronized (this) {
      if (images.values().stream().noneMatch(l -> l.layers().contains(expected))) {
        throw refused(
            ImageRefusedException.Reason.NOT_REFERENCED,
            "no manifest loaded into this TD references blob "
                + digest
                + "; AddManifest the image that names it first");
      }
    }
    if (totalSize > limits.maxLayerBytes()) {
      throw refused(
          ImageRefusedException.Reason.MALFORMED,
          tooLarge(expected, totalSize) + " (declared total size)");
    }
    Path part = uploadsDir.resolve(expected.hex() + "." + uploads.incrementAndGet() + ".tar");
    try {
      return new Upload(expected, part, Files.newOutputStream(part));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot store blob " + digest + " in " + uploadsDir, e);
    }
  }

  /** One blob streamed to a file while it is hashed; unpacked once its digest checks out. */
  private final class Upload implements BlobUpload {
    private final Digest expected;
    private final Path part;
    private final OutputStream out;
    private final MessageDigest md = newSha384();
    private long received;

    Upload(Digest expected, Path part, OutputStream out) {
      this.expected = expected;
      this.part = part;
      this.out = out;
    }

    @Override
    public void append(byte[] chunk) throws ImageRefusedException {
      received += chunk.length;
      if (received > limits.maxLayerBytes()) {
        abort();
        throw refused(ImageRefusedException.Reason.MALFORMED, tooLarge(expected, received));
      }
      md.update(chunk);
      try {
        out.write(chunk);
      } catch (IOException e) {
        abort();
        throw new UncheckedIOException("cannot store blob " + expected, e);
      }
    }

    @Override
    public String finish() throws ImageRefusedException {
      try {
        out.close();
        String actual = "sha384/" + HexFormat.of().formatHex(md.digest());
        if (!actual.equals(expected.toString())) {
          throw refused(
              ImageRefusedException.Reason.DIGEST_MISMATCH,
              "blob data hashes to "
                  + actual
                  + ", not "
                  + expected
                  + " (SHA-384 of the uncompressed tar); send the layer's exact bytes");
        }
        synchronized (AconImageLoader.this) {
          if (layers.containsKey(expected)) {
            return expected.toString(); // already unpacked: layers are kept once
          }
        }
        Path target = layersDir.resolve(expected.hex());
        Path staging =
            layersDir.resolve(expected.hex() + ".unpacking-" + uploads.incrementAndGet());
        long imageBytesBefore = otherLayersBytes(expected);
        LayerUnpacker.Result unpacked;
        try (InputStream in = Files.newInputStream(part)) {
          Files.createDirectory(staging);
          // Instances run unprivileged and must be able to traverse the layer's root.
          Files.setPosixFilePermissions(
              staging, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
          unpacked =
              LayerUnpacker.unpack(
                  in,
                  staging,
                  LayerUnpacker.Options.defaults()
                      .limits(limits)
                      .imageBytesBefore(imageBytesBefore));
        } catch (IOException e) {
          deleteTree(staging);
          throw refused(
              ImageRefusedException.Reason.MALFORMED,
              "layer " + expected + " cannot be unpacked: " + e.getMessage());
        }
        synchronized (AconImageLoader.this) {
          if (layers.containsKey(expected)) {
            deleteTree(staging);
          } else {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            layers.put(expected, target);
            layerBytes.put(expected, unpacked.bytes());
          }
        }
        return expected.toString();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot store layer " + expected, e);
      } finally {
        deleteQuietly(part);
      }
    }

    @Override
    public void abort() {
      try {
        out.close();
      } catch (IOException ignored) {
        // The partial file is deleted next.
      }
      deleteQuietly(part);
    }
  }

  private String tooLarge(Digest layer, long bytes) {
    return "layer "
        + layer
        + " is larger than "
        + limits.maxLayerBytes()
        + " bytes (limit "
        + ImageLimits.MAX_LAYER_BYTES
        + "); refused after "
        + bytes
        + " bytes";
  }

  /**
   * The most bytes the other unpacked layers of any loaded image naming {@code layer} hold: with
   * this layer's, it must keep that image within {@link ImageLimits#maxImageBytes()}.
   */
  private synchronized long otherLayersBytes(Digest layer) {
    long most = 0;
    for (Loaded l : images.values()) {
      if (!l.layers().contains(layer)) {
        continue;
      }
      long sum = 0;
      for (Digest d : new LinkedHashSet<>(l.layers())) {
        if (!d.equals(layer)) {
          sum += layerBytes.getOrDefault(d, 0L);
        }
      }
      most = Math.max(most, sum);
    }
    return most;
  }

  @Override
  public synchronized void finalizeImages() throws ImageRefusedException {
    if (finalized) {
      return; // acond measures Finalize once
    }
    RtmrLog next = rtmr3.appendFinalize();
    for (String line : next.lines().subList(rtmr3.size(), next.size())) {
      tdx.extendRtmr(3, sha384(line.getBytes(StandardCharsets.US_ASCII)));
    }
    rtmr3 = next;
    finalized = true;
  }

  /**
   * The image as a function: its layers merged (ACON order, last on top) as a full root filesystem
   * with the manifest's entrypoint, env rules, working dir, instances and log descriptors.
   *
   * @throws IllegalStateException when the image is loaded but cannot run yet (layers missing, no
   *     entrypoint), saying which
   */
  @Override
  public synchronized Optional<FunctionSpec> find(String imageId) {
    Loaded l = images.get(imageId);
    if (l == null) {
      return Optional.empty();
    }
    List<String> missing = missing(l.layers());
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "image " + imageId + " still needs layers " + missing + "; upload them with AddBlob");
    }
    return Optional.of(spec(imageId, l));
  }

  private FunctionSpec spec(String imageId, Loaded l) {
    Manifest m = l.signed().manifest();
    if (m.entrypoint().isEmpty()) {
      throw new IllegalStateException(
          "image "
              + imageId
              + " has no entrypoint (a layer-only image, e.g. a vendor layer); it"
              + " cannot be started, only used by images that name its aliases");
    }
    List<Path> dirs = l.layers().stream().map(layers::get).toList();
    List<NameSvn> self = m.aliases().self();
    String name = self.isEmpty() ? shortId(imageId) : self.get(0).name();
    String version = self.isEmpty() ? "$LATEST" : Long.toString(self.get(0).svn());
    return FunctionSpec.builder(imageId, dirs.get(dirs.size() - 1), m.entrypoint())
        .layout(FunctionSpec.RootLayout.FULL_ROOTFS)
        .layers(dirs)
        .workingDir(m.workingDir() == null || m.workingDir().isEmpty() ? "/" : m.workingDir())
        .envRules(envRules(m))
        .handler(handler(m))
        .name(name)
        .version(version)
        .maxInstances((int) Math.min(Integer.MAX_VALUE, m.maxInstances()))
        .logFds(Set.copyOf(m.logFDs()))
        .writableFs(m.writableFS())
        .signals(m.signals())
        .noRestart(m.noRestart())
        .initTimeout(initTimeout)
        .build();
  }

  /**
   * The image's {@code _HANDLER}: an env rule {@code _HANDLER=VALUE}, fixed by the signed manifest.
   */
  private static String handler(Manifest m) {
    return m.env().stream()
        .filter(LambdaReservedEnv::isHandlerRule)
        .map(r -> r.substring(LambdaReservedEnv.HANDLER.length() + 1))
        .findFirst()
        .orElse("");
  }

  /**
   * The manifest's env rules except {@code _HANDLER=VALUE}, which is the Lambda handler (the agent
   * sets {@code _HANDLER} itself, so callers cannot change it).
   *
   * @throws IllegalArgumentException naming a malformed rule
   */
  private static EnvRules envRules(Manifest m) {
    // The gateway refuses the same at deploy (LambdaReservedEnv is shared); this is the check that
    // protects the function, since the host is not trusted.
    LambdaReservedEnv.violation(m.env()).ifPresent(why -> {
      throw new IllegalArgumentException(why);
    });
    return EnvRules.parse(
        m.env().stream().filter(r -> !LambdaReservedEnv.isHandlerRule(r)).toList());
  }

  private static String shortId(String imageId) {
    return "image-" + imageId.substring(imageId.length() - 12);
  }

  @Override
  public synchronized List<FunctionSpec> loaded() {
    List<FunctionSpec> out = new ArrayList<>();
    images.forEach(
        (id, l) -> {
          if (missing(l.layers()).isEmpty() && !l.signed().manifest().entrypoint().isEmpty()) {
            out.add(spec(id, l));
          }
        });
    return out;
  }

  @Override
  public synchronized List<ImageStatus> images() {
    List<ImageStatus> out = new ArrayList<>();
    images.forEach(
        (id, l) ->
            out.add(
                new ImageStatus(
                    id,
                    l.layers().stream().map(Digest::toString).toList(),
                    missing(l.layers()),
                    (int) Math.min(Integer.MAX_VALUE, l.signed().manifest().maxInstances()))));
    return out;
  }

  @Override
  public synchronized boolean finalized() {
    return finalized;
  }

  private static ImageRefusedException refused(
      ImageRefusedException.Reason reason, String message) {
    return new ImageRefusedException(reason, message);
  }

  static byte[] sha384(byte[] data) {
    return newSha384().digest(data);
  }

  private static MessageDigest newSha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-384", e);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // A leftover upload file is harmless; the state dir goes with the TD.
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(AconImageLoader::deleteQuietly);
    } catch (IOException ignored) {
      // As above.
    }
  }
}
