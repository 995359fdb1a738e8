package dev.confaas.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns an OCI image into an unsigned ACON manifest plus its layers: from an OCI image layout
 * directory ({@code oci-layout}, {@code index.json} → image manifest → config and layers) or from a
 * {@code docker save} tar ({@code manifest.json} → config and layers, in the classic or the OCI
 * flavour).
 *
 * <p>Each layer is decompressed, checked against the digest the OCI manifest gives for the blob and
 * the {@code rootfs.diff_ids} the config gives for the uncompressed tar, and written to the output
 * directory as {@link #layerFileName} of its SHA-384. The manifest gets: {@code layers} (lowest
 * first), {@code entrypoint} = OCI {@code Entrypoint} + {@code Cmd}, {@code env} = OCI {@code Env}
 * (each {@code K=V} becomes the ACON rule "K must be V, defaulting to V"), {@code workingDir} = OCI
 * {@code WorkingDir} (or {@code /}). OCI settings ACON cannot express ({@code User}, {@code
 * ExposedPorts}, {@code Volumes}, ...) are reported in {@link Result#notes()}, not silently lost.
 *
 * <p>Images are mapped as Lambda maps a container image (docs.aws.amazon.com/lambda/latest/dg/
 * images-parms.html): a one-element {@code Cmd} is the function's handler, so it also becomes the
 * rule {@code _HANDLER=CMD} (AWS base images' {@code /lambda-entrypoint.sh} takes it as its
 * argument, which it still gets); an {@code Env} entry naming a variable the agent sets itself
 * ({@link LambdaReservedEnv}: AWS base images set {@code LAMBDA_TASK_ROOT} and {@code
 * LAMBDA_RUNTIME_DIR}) is dropped, as Lambda overrides them, and reported in {@link
 * Result#warnings()}; kept, it would make the agent refuse the image.
 *
 * @see <a href="https://github.com/opencontainers/image-spec/blob/main/image-layout.md">OCI image
 *     layout</a>
 */
public final class OciImporter {
  private static final Pattern OCI_DIGEST =
      Pattern.compile("(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})");
  private static final String INDEX_TYPES =
      "application/vnd.oci.image.index.v1+json"
          + " application/vnd.docker.distribution.manifest.list.v2+json";

  /** The import: an unsigned manifest, its layer files, and what could not be carried over. */
  public static final class Result {
    private final Manifest manifest;
    private final Map<Digest, Path> layers;
    private final List<String> notes;
    private final List<String> warnings;

    Result(Manifest manifest, Map<Digest, Path> layers, List<String> notes, List<String> warnings) {
      this.manifest = manifest;
      this.layers = java.util.Collections.unmodifiableMap(layers);
      this.notes = List.copyOf(notes);
      this.warnings = List.copyOf(warnings);
    }

    /** The unsigned ACON manifest (sign it to get an image). */
    public Manifest manifest() {
      return manifest;
    }

    /**
     * Layer digest (SHA-384, uncompressed) to the tar written in the output directory, lowest
     * first.
     */
    public Map<Digest, Path> layers() {
      return layers;
    }

    /** OCI settings that have no ACON equivalent and were left out. */
    public List<String> notes() {
      return notes;
    }

    /**
     * Settings of the image that were dropped because the platform sets them itself (reserved
     * Lambda variables), each saying which and why; the function will see the platform's values.
     */
    public List<String> warnings() {
      return warnings;
    }
  }

  private OciImporter() {}

  /** The file name a layer tar gets in an output directory: {@code sha384-HEX.tar}. */
  public static String layerFileName(Digest d) {
    return d.algorithm().aconName() + "-" + d.hex() + ".tar";
  }

  /**
   * Imports from an OCI image layout directory. With several images in {@code index.json}, the one
   * for {@code linux/amd64} is taken.
   *
   * @throws LayerException naming the file or digest that is missing, malformed or corrupt
   */
  public static Result fromLayout(Path layout, Path outDir) throws IOException {
    Path indexFile = layout.resolve("index.json");
    if (!Files.isRegularFile(indexFile)) {
      throw new LayerException(layout + " is not an OCI image layout: index.json is missing");
    }
    Map<String, Object> desc =
        pickManifest(layout, readJson(indexFile, "index.json"), "index.json");
    Map<String, Object> manifest = readJson(blob(layout, desc, "image manifest"), "image manifest");
    Map<String, Object> configDesc = obj(manifest.get("config"), "image manifest: config");
    Map<String, Object> config = readJson(blob(layout, configDesc, "config"), "config");
    List<Path> layerFiles = new ArrayList<>();
    List<String> layerTypes = new ArrayList<>();
    List<Map<String, Object>> layerDescs = new ArrayList<>();
    for (Object l : list(manifest.get("layers"), "image manifest: layers")) {
      Map<String, Object> ld = obj(l, "image manifest: layers[]");
      layerDescs.add(ld);
      layerFiles.add(blobPath(layout, str(ld.get("digest"), "layer digest")));
      layerTypes.add(ld.get("mediaType") instanceof String ? (String) ld.get("mediaType") : "");
    }
    return build(config, layerFiles, layerDescs, layerTypes, outDir);
  }

  /**
   * Imports from a {@code docker save} tar. The archive must hold exactly one image.
   *
   * @throws LayerException naming the entry that is missing, malformed or corrupt
   */
  public static Result fromDockerArchive(Path archive, Path outDir) throws IOException {
    Files.createDirectories(outDir);
    Path work = Files.createTempDirectory(outDir, ".docker-archive-");
    try {
      // Unpack with the hostile-tar rules, then read it like a directory. The archive holds every
      // layer of the image, so it may be as large as an image (plus its JSON files).
      ImageLimits whole = ImageLimits.defaults();
      long archiveBytes = whole.maxImageBytes() + (64L << 20);
      try (InputStream in = Files.newInputStream(archive)) {
        LayerUnpacker.unpack(
            in,
            work,
            LayerUnpacker.Options.defaults()
                .limits(
                    whole.toBuilder()
                        .maxLayerBytes(archiveBytes)
                        .maxImageBytes(archiveBytes)
                        .build()));
      }
      Path mf = work.resolve("manifest.json");
      if (!Files.isRegularFile(mf, LinkOption.NOFOLLOW_LINKS)) {
        throw new LayerException(
            archive + " is not a docker save archive: manifest.json is missing");
      }
      Object parsed = parse(Files.readAllBytes(mf), "manifest.json");
      List<Object> entries = list(parsed, "manifest.json");
      if (entries.size() != 1) {
        throw new LayerException(
            "manifest.json lists "
                + entries.size()
                + " images; save exactly one image (docker save IMAGE)");
      }
      Map<String, Object> entry = obj(entries.get(0), "manifest.json[0]");
      Map<String, Object> config =
          readJson(inside(work, str(entry.get("Config"), "manifest.json[0].Config")), "config");
      List<Path> layerFiles = new ArrayList<>();
      List<Map<String, Object>> descs = new ArrayList<>();
      List<String> types = new ArrayList<>();
      for (Object l : list(entry.get("Layers"), "manifest.json[0].Layers")) {
        layerFiles.add(inside(work, str(l, "manifest.json[0].Layers[]")));
        descs.add(Map.of());
        types.add("");
      }
      return build(config, layerFiles, descs, types, outDir);
    } finally {
      deleteTree(work);
    }
  }

  private static Result build(
      Map<String, Object> config,
      List<Path> layerFiles,
      List<Map<String, Object>> layerDescs,
      List<String> layerTypes,
      Path outDir)
      throws IOException {
    Files.createDirectories(outDir);
    List<String> notes = new ArrayList<>();
    Map<String, Object> c =
        config.get("config") == null ? Map.of() : obj(config.get("config"), "config.config");
    List<Object> diffIds = List.of();
    if (config.get("rootfs") instanceof Map) {
      Object d = ((Map<?, ?>) config.get("rootfs")).get("diff_ids");
      if (d != null) {
        diffIds = list(d, "config.rootfs.diff_ids");
      }
    }
    if (!diffIds.isEmpty() && diffIds.size() != layerFiles.size()) {
      throw new LayerException(
          "config lists "
              + diffIds.size()
              + " rootfs.diff_ids but the manifest has "
              + layerFiles.size()
              + " layers");
    }
    Manifest.Builder b = Manifest.builder();
    Map<Digest, Path> written = new LinkedHashMap<>();
    List<Digest> order = new ArrayList<>();
    for (int i = 0; i < layerFiles.size(); i++) {
      String type = layerTypes.get(i);
      if (type.contains("zstd") || type.contains("encrypted")) {
        throw new LayerException(
            "layer " + i + " has media type " + type + ", which is not supported");
      }
      Digest d =
          copyLayer(
              layerFiles.get(i),
              layerDescs.get(i),
              diffIds.isEmpty() ? null : str(diffIds.get(i), "config.rootfs.diff_ids[" + i + "]"),
              outDir,
              i);
      order.remove(d);
      order.add(d);
      written.put(d, outDir.resolve(layerFileName(d)));
    }
    if (order.size() != layerFiles.size()) {
      // ACON (overlayfs) cannot list a layer twice. Keeping only the upper copy gives the same
      // merged tree: its files and whiteouts cover everything the lower copy affected.
      notes.add(
          (layerFiles.size() - order.size())
              + " repeated layer(s) kept only at their uppermost position (same merged tree)");
    }
    order.forEach(b::addLayer);
    Map<Digest, Path> ordered = new LinkedHashMap<>();
    for (Digest d : order) {
      ordered.put(d, written.get(d));
    }
    List<String> argv = new ArrayList<>();
    argv.addAll(strings(c.get("Entrypoint"), "config.Entrypoint"));
    List<String> cmd = strings(c.get("Cmd"), "config.Cmd");
    argv.addAll(cmd);
    b.entrypoint(argv);
    // A container's stdout and stderr are its logs (as under docker and Lambda): share both.
    b.addLogFD(1).addLogFD(2);
    List<String> warnings = new ArrayList<>();
    for (String e : strings(c.get("Env"), "config.Env")) {
      int eq = e.indexOf('=');
      String name = eq < 0 ? e : e.substring(0, eq);
      if (LambdaReservedEnv.isReserved(name)) {
        warnings.add("config Env " + e + " dropped: " + name + " is set by the platform for every"
            + " function (as Lambda sets it), and an image may not set it"
            + (name.equals(LambdaReservedEnv.HANDLER) ? "; the handler comes from Cmd" : ""));
        continue;
      }
      b.addEnv(e);
    }
    if (cmd.size() == 1) { // Lambda: the image's CMD is the function's handler
      b.addEnv(LambdaReservedEnv.HANDLER + "=" + cmd.get(0));
    }
    Object wd = c.get("WorkingDir");
    if (wd instanceof String && !((String) wd).isEmpty()) {
      b.workingDir((String) wd);
    }
    for (String k : c.keySet()) {
      switch (k) {
        case "Entrypoint":
        case "Cmd":
        case "Env":
        case "WorkingDir":
          break;
        default:
          Object v = c.get(k);
          boolean empty =
              v == null
                  || v == JqJsonReader.NULL
                  || (v instanceof String && ((String) v).isEmpty())
                  || (v instanceof Map && ((Map<?, ?>) v).isEmpty())
                  || (v instanceof List && ((List<?>) v).isEmpty());
          if (!empty) {
            notes.add(
                "OCI config "
                    + k
                    + " = "
                    + new String(CanonicalJson.write(v), StandardCharsets.UTF_8)
                    + " has no ACON equivalent and was not imported");
          }
      }
    }
    if (argv.isEmpty()) {
      notes.add("the OCI image has no Entrypoint or Cmd; set one with 'image build --entrypoint'");
    }
    Manifest m;
    try {
      m = b.build();
    } catch (ManifestException e) {
      throw new LayerException("OCI config cannot become an ACON manifest: " + e.getMessage(), e);
    }
    return new Result(m, ordered, notes, warnings);
  }

  /** Copies one layer blob, decompressed, checking the OCI blob digest and the diff_id. */
  private static Digest copyLayer(
      Path file, Map<String, Object> desc, String diffId, Path outDir, int index)
      throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new LayerException("layer " + index + ": blob " + file.getFileName() + " is missing");
    }
    String blobDigest = desc.get("digest") instanceof String ? (String) desc.get("digest") : null;
    MessageDigest blobMd = blobDigest == null ? null : mdFor(blobDigest, "layer " + index);
    MessageDigest diffMd = diffId == null ? null : mdFor(diffId, "layer " + index + " diff_id");
    Path tmp = Files.createTempFile(outDir, ".layer-", ".part");
    try {
      Digest d;
      try (InputStream raw = Files.newInputStream(file);
          InputStream counted = blobMd == null ? raw : new DigestInputStream(raw, blobMd);
          OutputStream out = Files.newOutputStream(tmp);
          OutputStream both =
              diffMd == null ? out : new java.security.DigestOutputStream(out, diffMd)) {
        // The platform's limits, so a layer it would refuse is refused here, at import.
        d =
            LayerDigests.copyUncompressed(
                counted, both, HashAlgorithm.SHA384, ImageLimits.defaults());
        counted.transferTo(OutputStream.nullOutputStream()); // gzip may stop before the end
      }
      if (blobMd != null
          && !hex(blobMd).equals(blobDigest.substring(blobDigest.indexOf(':') + 1))) {
        throw new LayerException(
            "layer " + index + ": blob content does not match its digest " + blobDigest);
      }
      if (diffMd != null && !hex(diffMd).equals(diffId.substring(diffId.indexOf(':') + 1))) {
        throw new LayerException(
            "layer "
                + index
                + ": uncompressed content does not match config rootfs.diff_ids "
                + diffId);
      }
      Files.move(
          tmp, outDir.resolve(layerFileName(d)), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return d;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static MessageDigest mdFor(String ociDigest, String what) throws LayerException {
    if (!OCI_DIGEST.matcher(ociDigest).matches()) {
      throw new LayerException(what + ": \"" + ociDigest + "\" is not a sha256/sha512 OCI digest");
    }
    return (ociDigest.startsWith("sha256:") ? HashAlgorithm.SHA256 : HashAlgorithm.SHA512)
        .newDigest();
  }

  private static String hex(MessageDigest md) {
    return Hex.encode(md.digest());
  }

  private static Map<String, Object> pickManifest(
      Path layout, Map<String, Object> index, String where) throws IOException {
    List<Object> ms = list(index.get("manifests"), where + ": manifests");
    if (ms.isEmpty()) {
      throw new LayerException(where + " lists no images");
    }
    Map<String, Object> chosen = null;
    if (ms.size() == 1) {
      chosen = obj(ms.get(0), where + ": manifests[0]");
    } else {
      List<String> seen = new ArrayList<>();
      for (Object o : ms) {
        Map<String, Object> d = obj(o, where + ": manifests[]");
        Object p = d.get("platform");
        String plat =
            p instanceof Map
                ? ((Map<?, ?>) p).get("os") + "/" + ((Map<?, ?>) p).get("architecture")
                : "?";
        seen.add(plat);
        if (plat.equals("linux/amd64") && chosen == null) {
          chosen = d;
        }
      }
      if (chosen == null) {
        throw new LayerException(
            where + " lists " + ms.size() + " images and none is linux/amd64 (found " + seen + ")");
      }
    }
    Object type = chosen.get("mediaType");
    if (type instanceof String && INDEX_TYPES.contains((String) type)) {
      return pickManifest(
          layout, readJson(blob(layout, chosen, "nested index"), "nested index"), "nested index");
    }
    return chosen;
  }

  /** Path of a blob named by a descriptor, after checking its digest. */
  private static Path blob(Path layout, Map<String, Object> desc, String what) throws IOException {
    String digest = str(desc.get("digest"), what + " digest");
    Path p = blobPath(layout, digest);
    if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new LayerException(what + " blob " + digest + " is missing from the layout");
    }
    MessageDigest md = mdFor(digest, what);
    try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    if (!hex(md).equals(digest.substring(digest.indexOf(':') + 1))) {
      throw new LayerException(what + " blob does not match its digest " + digest);
    }
    return p;
  }

  private static Path blobPath(Path layout, String ociDigest) throws LayerException {
    if (!OCI_DIGEST.matcher(ociDigest).matches()) {
      throw new LayerException("\"" + ociDigest + "\" is not a sha256/sha512 OCI digest");
    }
    int colon = ociDigest.indexOf(':');
    return layout
        .resolve("blobs")
        .resolve(ociDigest.substring(0, colon))
        .resolve(ociDigest.substring(colon + 1));
  }

  /** A path named inside an unpacked archive; must not leave it. */
  private static Path inside(Path dir, String rel) throws IOException {
    Path p = dir.resolve(rel).normalize();
    if (!p.startsWith(dir) || rel.startsWith("/")) {
      throw new LayerException("archive path \"" + rel + "\" leaves the archive");
    }
    if (!Files.exists(p)) {
      throw new LayerException("archive has no file \"" + rel + "\"");
    }
    // docker save links repeated layers (layer.tar -> ../ID/layer.tar): follow, but stay inside.
    Path real = p.toRealPath();
    if (!real.startsWith(dir.toRealPath())) {
      throw new LayerException("archive path \"" + rel + "\" leaves the archive through a symlink");
    }
    return real;
  }

  private static Map<String, Object> readJson(Path p, String what) throws IOException {
    return obj(parse(Files.readAllBytes(p), what), what);
  }

  private static Object parse(byte[] b, String what) throws LayerException {
    try {
      return JqJsonReader.parse(b, false);
    } catch (IllegalArgumentException e) {
      throw new LayerException(what + " is not valid JSON: " + e.getMessage(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> obj(Object o, String what) throws LayerException {
    if (!(o instanceof Map)) {
      throw new LayerException(what + ": expected a JSON object");
    }
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o, String what) throws LayerException {
    if (!(o instanceof List)) {
      throw new LayerException(what + ": expected a JSON array");
    }
    return (List<Object>) o;
  }

  private static String str(Object o, String what) throws LayerException {
    if (!(o instanceof String)) {
      throw new LayerException(what + ": expected a string");
    }
    return (String) o;
  }

  private static List<String> strings(Object o, String what) throws LayerException {
    if (o == null || o == JqJsonReader.NULL) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object e : list(o, what)) {
      out.add(str(e, what + "[]"));
    }
    return out;
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      p.toFile().setWritable(true);
      try (DirectoryStream<Path> children = Files.newDirectoryStream(p)) {
        for (Path c : children) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
