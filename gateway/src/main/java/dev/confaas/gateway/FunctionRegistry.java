package dev.confaas.gateway;

import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageLimits;
import dev.confaas.image.HashAlgorithm;
import dev.confaas.image.LayerException;
import dev.confaas.image.ImageRepository;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LambdaReservedEnv;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.ManifestException;
import dev.confaas.image.SignedManifest;
import dev.confaas.policy.InvalidPolicyException;
import dev.confaas.scheduler.DeployedFunction;
import dev.confaas.scheduler.FunctionCatalog;
import dev.confaas.vendor.AliasDefinition;
import dev.confaas.vendor.LayerResolution;
import dev.confaas.vendor.PolicyImages;
import dev.confaas.vendor.ResolvedLayer;
import dev.confaas.vendor.VendorLayerRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The deployed functions: names, versions ({@code 1, 2, ...}), aliases ({@code latest} and user
 * aliases), run settings and invoke auth, persisted under the platform's data directory:
 *
 * <pre>
 * DATA/functions/NAME.json    one function: versions, aliases, settings (written to a temporary
 *                             file, forced, then renamed into place)
 * DATA/images/                the platform's one {@link ImageRepository}: function and vendor
 *                             manifests, signatures, certificates and layer blobs; it is also the
 *                             {@link VendorLayerRegistry}'s repository (vendor publications are
 *                             listed in DATA/images/publications/), so the scheduler loads a
 *                             function and the vendor images it depends on from one place
 * </pre>
 *
 * <p>A deploy is checked completely before anything is stored (signature, launch policy, every
 * {@code layers} entry resolves, every resolved blob present with the right digest); a refused
 * deploy leaves what was deployed before untouched. The host's checks are for early, clear errors:
 * the TD agent verifies signatures and policy again when it loads the image.
 *
 * <p>Reads ({@link #resolve}, {@link #get}, {@link #list}) come from memory and never block;
 * writes ({@link #deploy}, {@link #delete}, {@link #setAlias}) touch the disk and must run off
 * event loops.
 */
public final class FunctionRegistry implements FunctionCatalog {
  static final String LATEST = "latest";
  private static final Pattern ALIAS = Pattern.compile("[a-z][a-z0-9_-]{0,31}");

  private final Path functionsDir;
  private final ImageRepository images;
  private final VendorLayerRegistry vendor;
  private final Clock clock;
  private final ReentrantLock writes = new ReentrantLock();
  private final Map<String, Stored> functions = new ConcurrentHashMap<>();
  private final java.util.List<java.util.function.Consumer<String>> deletedListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<String> quarantined = new ArrayList<>();
  private final SecureRandom random = new SecureRandom();

  private FunctionRegistry(Path dataDir, ImageRepository images, VendorLayerRegistry vendor,
      Clock clock) {
    this.functionsDir = dataDir.resolve("functions");
    this.images = images;
    this.vendor = vendor;
    this.clock = clock;
  }

  /**
   * Opens (creating if needed) the registry under {@code dataDir} ({@code functions/}, {@code
   * images/}) and loads every deployed function.
   *
   * <p>A function file that cannot be read does not stop the platform: it is renamed to {@code
   * NAME.json.corrupt-<UTC time>} (so it is kept, and not read again), its function is not
   * deployed, and {@link #quarantined()} says so.
   *
   * @throws IOException if the directories cannot be created or listed
   */
  public static FunctionRegistry open(Path dataDir, Clock clock) throws IOException {
    return open(dataDir, clock, ImageLimits.defaults());
  }

  /**
   * As {@link #open(Path, Clock)}, with the limits every deployed image must keep ({@link
   * ImageLimits}: layer and image bytes, entries, paths, manifest size), checked while uploads
   * stream.
   */
  public static FunctionRegistry open(Path dataDir, Clock clock, ImageLimits limits)
      throws IOException {
    Path dir = dataDir.toAbsolutePath().normalize();
    VendorLayerRegistry vendor = VendorLayerRegistry.open(dir.resolve("images"), limits);
    FunctionRegistry r = new FunctionRegistry(dir, vendor.repository(), vendor, clock);
    Files.createDirectories(r.functionsDir);
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(r.functionsDir, "*.json")) {
      ds.forEach(files::add);
    }
    for (Path p : files) {
      try {
        Stored s = Stored.fromJson(new JsonObject(Files.readString(p, StandardCharsets.UTF_8)));
        r.functions.put(s.info.name(), s);
      } catch (IOException | RuntimeException e) {
        r.quarantined.add(r.quarantine(p, e));
      }
    }
    return r;
  }

  /**
   * The function files {@link #open} could not read and moved aside, one message each naming the
   * file, why, where it went and what to do. Empty when every function loaded.
   */
  public List<String> quarantined() {
    return List.copyOf(quarantined);
  }

  private String quarantine(Path file, Exception why) {
    String name = file.getFileName().toString();
    String stamp = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(java.time.ZoneOffset.UTC).format(clock.instant());
    Path aside = file.resolveSibling(name + ".corrupt-" + stamp);
    for (int n = 2; Files.exists(aside); n++) {
      aside = file.resolveSibling(name + ".corrupt-" + stamp + "-" + n);
    }
    String reason = why.getMessage() == null ? why.getClass().getSimpleName() : why.getMessage();
    String function = name.substring(0, name.length() - ".json".length());
    try {
      Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      return "function file " + file + " is unreadable (" + reason + ") and could not be moved"
          + " aside (" + e.getMessage() + "); function '" + function + "' is not deployed: restore"
          + " the file from a backup, or delete it and deploy the function again";
    }
    return "function file " + file + " was unreadable (" + reason + "); moved it to "
        + aside.getFileName() + " and started without function '" + function + "': restore the"
        + " file from a backup (rename it back to " + name + " and restart), or deploy the"
        + " function again";
  }

  /** The platform's image repository: function and vendor images and their layers. */
  public ImageRepository images() {
    return images;
  }

  /** The vendor layer registry (over the same repository as {@link #images()}). */
  public VendorLayerRegistry vendorLayers() {
    return vendor;
  }

  /**
   * Where a layer blob a deployed function needs is stored: the function image repository, else the
   * vendor registry. The caller still checks the content against the digest when it reads it.
   */
  public Optional<Path> layer(Digest digest) {
    if (images.hasBlob(digest)) {
      return Optional.of(images.blobPath(digest));
    }
    if (vendor.repository().hasBlob(digest)) {
      return Optional.of(vendor.repository().blobPath(digest));
    }
    return Optional.empty();
  }

  // --- reads -------------------------------------------------------------------------------------

  @Override
  public Optional<DeployedFunction> resolve(String name, String version) {
    Stored s = functions.get(name);
    if (s == null) {
      return Optional.empty();
    }
    String v = version == null || version.isEmpty() ? LATEST : version;
    Integer n = s.info.aliases().get(v);
    if (n == null) {
      try {
        n = Integer.valueOf(v);
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }
    Version found = s.info.versions().get(n);
    return found == null ? Optional.empty() : Optional.of(found.function());
  }

  /** One function with all its versions and aliases. */
  public Optional<FunctionInfo> get(String name) {
    Stored s = functions.get(name);
    return s == null ? Optional.empty() : Optional.of(s.info);
  }

  /** Every function, by name. */
  public List<FunctionInfo> list() {
    List<FunctionInfo> out = new ArrayList<>();
    for (Stored s : functions.values()) {
      out.add(s.info);
    }
    out.sort(Comparator.comparing(FunctionInfo::name));
    return out;
  }

  /**
   * Whether {@code bearer} (the token after {@code Bearer }, or {@code null}) may invoke {@code
   * name}: always for {@code invokeAuth=none} and for unknown names (the invoker answers 404); for
   * {@code token}, when it is the function's invoke token. Constant-time on the token.
   */
  boolean invokeAllowed(String name, String bearer) {
    Stored s = functions.get(name);
    if (s == null || s.info.invokeAuth() == FunctionConfig.InvokeAuth.NONE) {
      return true;
    }
    if (bearer == null || s.tokenHash == null) {
      return false;
    }
    return MessageDigest.isEqual(sha256(bearer), s.tokenHash);
  }

  // --- writes ------------------------------------------------------------------------------------

  /**
   * Checks and stores a new version of a function and points {@code latest} at it. Blocks (disk,
   * signature verification, hashing layers).
   *
   * @throws DeployException saying which check failed; nothing is stored then
   */
  public Deployment deploy(DeployRequest request) throws DeployException, IOException {
    FunctionConfig config = request.config();
    FunctionConfig.checkName(config.name());
    SignedManifest signed;
    try {
      signed = SignedManifest.parse(
          request.manifest(), request.signature(), request.certificate(), images.limits());
    } catch (ManifestException e) {
      throw new DeployException(Problem.Reason.INVALID_MANIFEST,
          "the manifest is not a valid ACON manifest: "
          + e.getMessage());
    } catch (IllegalArgumentException | ImageVerificationException e) {
      throw new DeployException(Problem.Reason.INVALID_CERTIFICATE,
          "the manifest, signature or certificate cannot"
          + " be read: " + e.getMessage());
    }
    try {
      signed.verify();
      PolicyImages.of(signed);
    } catch (ImageVerificationException e) {
      throw new DeployException(Problem.Reason.BAD_SIGNATURE, "the signature does not verify: "
          + e.getMessage() + "; sign the manifest again with the key of the certificate sent");
    } catch (InvalidPolicyException e) {
      throw new DeployException(Problem.Reason.INVALID_POLICY,
          "the launch policy is invalid: " + e.getMessage());
    }

    // The agent would accept this image and then have nothing to start.
    if (signed.manifest().entrypoint().isEmpty()) {
      throw new DeployException(Problem.Reason.INVALID_MANIFEST,
          "the manifest has no entrypoint, so the function could never start; set \"entrypoint\""
          + " (the CLI's builders do) or deploy the image as a vendor layer instead");
    }

    // The agent would refuse to load it at the first invoke (LambdaReservedEnv is the agent's list).
    Optional<String> reserved = LambdaReservedEnv.violation(signed.manifest().env());
    if (reserved.isPresent()) {
      throw new DeployException(Problem.Reason.INVALID_MANIFEST, "the manifest's "
          + reserved.get() + " (TD agents refuse to load such an image)");
    }

    // Every layers entry resolves (aliases through the vendor registry's signed manifests).
    LayerResolution resolution = vendor.resolver().resolveLayers(signed.manifest());
    if (!resolution.isComplete()) {
      StringBuilder why = new StringBuilder();
      for (ResolvedLayer l : resolution.unresolved()) {
        why.append(why.length() == 0 ? "" : "; ").append(l.problem().orElse(l.entry().toString()));
      }
      throw new DeployException(Problem.Reason.UNRESOLVED_ALIAS,
          "layer entries do not resolve: " + why);
    }
    List<String> dependencies = new ArrayList<>();
    Set<Digest> needed = new LinkedHashSet<>();
    for (ResolvedLayer l : resolution.layers()) {
      needed.add(l.digest().orElseThrow());
      for (AliasDefinition d : l.chain()) {
        String id = d.definedBy().toString();
        if (!dependencies.contains(id)) {
          dependencies.add(id);
        }
      }
    }

    // Uploaded layers hash to their claimed digests and are needed; every needed blob is here.
    Map<Digest, Path> uploaded = new LinkedHashMap<>();
    Map<Digest, Long> uploadedBytes = new LinkedHashMap<>();
    for (UploadedLayer u : request.layers()) {
      if (!needed.contains(u.claimed())) {
        throw new DeployException(Problem.Reason.INVALID_LAYER,
            "uploaded layer " + u.claimed() + " is not one the"
            + " manifest's layers resolve to; upload only the manifest's layers");
      }
      Digest actual;
      try (InputStream in = Files.newInputStream(u.file())) {
        // Hashed within the image limits: a gzip bomb stops at the layer limit, not after inflating.
        CountingSink sink = new CountingSink();
        actual = LayerDigests.copyUncompressed(in, sink, HashAlgorithm.SHA384, images.limits());
        uploadedBytes.put(u.claimed(), sink.bytes);
      } catch (LayerException e) {
        throw new DeployException(Problem.Reason.IMAGE_LIMIT, "uploaded layer " + u.claimed()
            + " refused: " + e.getMessage());
      } catch (IOException e) {
        throw new DeployException(Problem.Reason.INVALID_LAYER, "uploaded layer " + u.claimed()
            + " is not a readable tar (plain or gzip): " + e.getMessage());
      }
      if (!actual.equals(u.claimed())) {
        throw new DeployException(Problem.Reason.DIGEST_MISMATCH,
            "uploaded layer claimed to be " + u.claimed()
            + " hashes to " + actual + " (SHA-384 of the uncompressed tar); send the right file"
            + " or name it by its digest");
      }
      if (!needed.contains(actual)) {
        throw new DeployException(Problem.Reason.INVALID_LAYER,
            "uploaded layer " + actual + " is not one the"
            + " manifest's layers resolve to; upload only the manifest's layers");
      }
      uploaded.put(actual, u.file());
    }
    for (Digest d : needed) {
      if (uploaded.containsKey(d)) {
        continue;
      }
      Optional<Path> stored = layer(d);
      if (stored.isEmpty()) {
        throw new DeployException(Problem.Reason.MISSING_LAYER,
            "layer " + d + " is neither uploaded nor stored;"
            + " include it in the deploy bundle as a 'layer' part named " + d.algorithm().aconName()
            + "-" + d.hex());
      }
      Digest actual;
      try (InputStream in = Files.newInputStream(stored.get())) {
        actual = LayerDigests.sha384(in);
      }
      if (!actual.equals(d)) {
        throw new DeployException(Problem.Reason.DIGEST_MISMATCH, "stored layer " + stored.get()
            + " does not hash to " + d + " (the store was altered); upload the layer again");
      }
    }

    // The whole image (each layer once, as the agent loads it) within the image limit.
    long imageBytes = 0;
    for (Digest d : needed) {
      imageBytes += uploadedBytes.containsKey(d) ? uploadedBytes.get(d) : Files.size(layer(d).orElseThrow());
    }
    if (imageBytes > images.limits().maxImageBytes()) {
      throw new DeployException(Problem.Reason.IMAGE_LIMIT, "the image's " + needed.size()
          + " layers expand to " + imageBytes + " bytes together, more than the limit of "
          + images.limits().maxImageBytes() + " (" + ImageLimits.MAX_IMAGE_BYTES
          + "); make the function's layers smaller");
    }

    writes.lock();
    try {
      for (Map.Entry<Digest, Path> e : uploaded.entrySet()) {
        try (InputStream in = Files.newInputStream(e.getValue())) {
          images.putBlob(e.getKey(), in);
        }
      }
      ImageId imageId;
      try {
        imageId = images.putImage(signed);
      } catch (ImageVerificationException e) {
        throw new DeployException(Problem.Reason.BAD_SIGNATURE, "the signature does not verify: "
            + e.getMessage());
      }
      Stored before = functions.get(config.name());
      int version = before == null ? 1 : before.nextVersion;
      DeployedFunction fn = new DeployedFunction(config.name(), version, imageId.toString(),
          dependencies, config.concurrency(), config.timeout(), config.memoryMb());
      TreeMap<Integer, Version> versions = new TreeMap<>();
      Map<String, Integer> aliases = new TreeMap<>();
      byte[] tokenHash = null;
      if (before != null) {
        versions.putAll(before.info.versions());
        aliases.putAll(before.info.aliases());
        tokenHash = before.tokenHash;
      }
      versions.put(version, new Version(fn, clock.instant()));
      aliases.put(LATEST, version);
      FunctionConfig.InvokeAuth auth = config.invokeAuth() != null ? config.invokeAuth()
          : before != null ? before.info.invokeAuth() : FunctionConfig.InvokeAuth.NONE;
      String newToken = null;
      if (auth == FunctionConfig.InvokeAuth.TOKEN && tokenHash == null) {
        newToken = newToken();
        tokenHash = sha256(newToken);
      }
      if (auth == FunctionConfig.InvokeAuth.NONE) {
        tokenHash = null;
      }
      Stored after = new Stored(new FunctionInfo(config.name(), auth, versions, aliases),
          tokenHash, version + 1);
      persist(after);
      functions.put(config.name(), after);
      return new Deployment(fn, newToken);
    } finally {
      writes.unlock();
    }
  }

  /**
   * Points a user alias (e.g. {@code prod}) at a version. {@code latest} is the registry's own.
   *
   * @throws DeployException if the function, the version or the alias name is wrong
   */
  public FunctionInfo setAlias(String name, String alias, int version)
      throws DeployException, IOException {
    if (!ALIAS.matcher(alias).matches() || alias.equals(LATEST)) {
      throw new DeployException(Problem.Reason.INVALID_ALIAS,
          "alias \"" + alias + "\" must match [a-z][a-z0-9_-]*"
          + " (at most 32 characters) and not be \"latest\", which always names the newest"
          + " version");
    }
    writes.lock();
    try {
      Stored s = functions.get(name);
      if (s == null) {
        throw new DeployException(Problem.Reason.NOT_FOUND, "no function named \"" + name + "\"");
      }
      if (!s.info.versions().containsKey(version)) {
        throw new DeployException(Problem.Reason.NOT_FOUND,
            "function \"" + name + "\" has no version "
            + version + "; versions: " + s.info.versions().keySet());
      }
      Map<String, Integer> aliases = new TreeMap<>(s.info.aliases());
      aliases.put(alias, version);
      Stored after = new Stored(new FunctionInfo(name, s.info.invokeAuth(), s.info.versions(),
          aliases), s.tokenHash, s.nextVersion);
      persist(after);
      functions.put(name, after);
      return after.info;
    } finally {
      writes.unlock();
    }
  }

  /**
   * Forgets a function and all its versions; returns false if there was none. Images and layers
   * stay in the repository (other functions may share them).
   */
  public boolean delete(String name) throws IOException {
    writes.lock();
    try {
      if (functions.remove(name) == null) {
        return false;
      }
      Files.deleteIfExists(functionsDir.resolve(name + ".json"));
      force(functionsDir);
    } finally {
      writes.unlock();
    }
    deletedListeners.forEach(l -> l.accept(name));
    return true;
  }

  /** Calls {@code listener} with the name of each function deleted from now on, after it is gone. */
  public void onDeleted(java.util.function.Consumer<String> listener) {
    deletedListeners.add(listener);
  }

  // --- types -------------------------------------------------------------------------------------

  /** A deploy as the gateway received it; layer files are temporary uploads it owns. */
  public record DeployRequest(FunctionConfig config, byte[] manifest, byte[] signature,
      byte[] certificate, List<UploadedLayer> layers) {
    public DeployRequest {
      layers = List.copyOf(layers);
    }
  }

  /** An uploaded layer tar (plain or gzip) and the digest the client says it has. */
  public record UploadedLayer(Digest claimed, Path file) {}

  /**
   * The outcome of a deploy.
   *
   * @param invokeToken the function's new invoke token, shown only the first time {@code
   *     invokeAuth=token} is deployed (only its hash is stored); {@code null} otherwise
   */
  public record Deployment(DeployedFunction function, String invokeToken) {}

  /** One stored version. */
  public record Version(DeployedFunction function, Instant deployedAt) {}

  /** A function as stored: its versions by number and its aliases (alias to version). */
  public record FunctionInfo(String name, FunctionConfig.InvokeAuth invokeAuth,
      Map<Integer, Version> versions, Map<String, Integer> aliases) {
    public FunctionInfo {
      versions = java.util.Collections.unmodifiableMap(new TreeMap<>(versions));
      aliases = java.util.Collections.unmodifiableMap(new TreeMap<>(aliases));
    }

    JsonObject toJson() {
      JsonArray vs = new JsonArray();
      for (Version v : versions.values()) {
        DeployedFunction f = v.function();
        vs.add(new JsonObject()
            .put("version", f.version())
            .put("imageId", f.imageId())
            .put("dependencies", new JsonArray(new ArrayList<>(f.dependencies())))
            .put("concurrency", f.concurrency())
            .put("timeoutMs", f.timeout().toMillis())
            .put("memoryMb", f.memoryMb())
            .put("deployedAt", v.deployedAt().toString()));
      }
      return new JsonObject()
          .put("name", name)
          .put("invokeAuth", invokeAuth.wireName())
          .put("aliases", new JsonObject(new LinkedHashMap<>(aliases)))
          .put("versions", vs);
    }
  }

  // --- storage -----------------------------------------------------------------------------------

  private record Stored(FunctionInfo info, byte[] tokenHash, int nextVersion) {
    JsonObject toJson() {
      return info.toJson()
          .put("nextVersion", nextVersion)
          .put("invokeTokenSha256", tokenHash == null ? null : HexFormat.of().formatHex(tokenHash));
    }

    static Stored fromJson(JsonObject o) {
      String name = o.getString("name");
      FunctionConfig.InvokeAuth auth = FunctionConfig.InvokeAuth.valueOf(
          o.getString("invokeAuth").toUpperCase(java.util.Locale.ROOT));
      TreeMap<Integer, Version> versions = new TreeMap<>();
      for (Object x : o.getJsonArray("versions")) {
        JsonObject v = (JsonObject) x;
        List<String> deps = new ArrayList<>();
        for (Object d : v.getJsonArray("dependencies")) {
          deps.add((String) d);
        }
        DeployedFunction f = new DeployedFunction(name, v.getInteger("version"),
            ImageId.parse(v.getString("imageId")).toString(), deps, v.getInteger("concurrency"),
            Duration.ofMillis(v.getLong("timeoutMs")), v.getInteger("memoryMb"));
        versions.put(f.version(), new Version(f, Instant.parse(v.getString("deployedAt"))));
      }
      Map<String, Integer> aliases = new TreeMap<>();
      for (Map.Entry<String, Object> e : o.getJsonObject("aliases")) {
        aliases.put(e.getKey(), ((Number) e.getValue()).intValue());
      }
      String hash = o.getString("invokeTokenSha256");
      return new Stored(new FunctionInfo(name, auth, versions, aliases),
          hash == null ? null : HexFormat.of().parseHex(hash), o.getInteger("nextVersion"));
    }
  }

  private void persist(Stored s) throws IOException {
    Path dest = functionsDir.resolve(s.info.name() + ".json");
    Path part = Files.createTempFile(functionsDir, "." + s.info.name(), ".part");
    try {
      Files.writeString(part, s.toJson().encodePrettily() + "\n", StandardCharsets.UTF_8);
      force(part);
      try {
        Files.move(part, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename within " + functionsDir + " atomically; keep the data"
            + " directory on a local file system", e);
      }
      force(functionsDir);
    } finally {
      Files.deleteIfExists(part);
    }
  }

  private static void force(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      if (!Files.isDirectory(p)) {
        throw e; // some file systems cannot fsync directories; files must succeed
      }
    }
  }

  private String newToken() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Counts the bytes written to it and keeps none. */
  private static final class CountingSink extends OutputStream {
    long bytes;

    @Override
    public void write(int b) {
      bytes++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      bytes += len;
    }
  }
}
