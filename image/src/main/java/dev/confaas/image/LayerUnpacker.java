package dev.confaas.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * Applies a layer tar (plain or gzip) onto a directory, safely, with OCI whiteout semantics.
 *
 * <p>Layers come from function authors and vendors, so a tar is treated as hostile. Refused, with a
 * {@link LayerException} naming the entry: absolute paths and {@code ..} components; symlinks whose
 * target, resolved inside the layer root as the container would see it, leaves the root (absolute
 * targets such as {@code /bin/busybox} are fine: they mean the root inside the container), checked
 * per entry and, once the layer is applied, for every symlink in the tree following the links it
 * meets (so links that only escape together, or through a lower layer's link, are caught); hard
 * links to paths outside the target or not yet extracted by this same tar; any entry whose parent
 * path goes through a symlink (so nothing is ever written through a link, whichever layer created
 * it); device nodes and FIFOs, unless {@link Options#allowSpecialFiles} is set, in which case they
 * are skipped and listed in the {@link Result} (an unprivileged host process cannot create them).
 *
 * <p>Limits ({@link ImageLimits}, in {@link Options#limits}): the uncompressed bytes of the layer,
 * and of the image when {@link Options#imageBytesBefore} says how much its other layers hold; the
 * number of entries; each path's length and depth. They are checked as the tar streams, before an
 * entry is written, so a tar bomb stops after at most the limit.
 *
 * <p>Modes: the rwx bits of the tar are applied; setuid, setgid and sticky bits are dropped (a
 * host-side setuid copy is a risk and Java cannot set them) and counted in {@link
 * Result#droppedModeBits()}. The TD agent reads the modes it needs from the measured tar, not from
 * an unpacked copy. Owners are not applied (the host process owns every file).
 *
 * <p>Whiteouts, as the OCI image spec defines them for applying a layer onto its lower layers: an
 * entry {@code DIR/.wh.NAME} deletes {@code DIR/NAME} (file or whole tree) from the lower layers;
 * {@code DIR/.wh..wh..opq} deletes everything already in {@code DIR} that this layer did not put
 * there. Whiteouts never delete what the same layer wrote, and are not themselves extracted. An
 * entry that replaces a lower path of another type replaces it (a file over a directory removes the
 * directory), as overlay would show it.
 *
 * @see <a href="https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts">OCI
 *     whiteouts</a>
 */
public final class LayerUnpacker {
  static final String WHITEOUT = ".wh.";
  static final String OPAQUE = ".wh..wh..opq";

  /** Unpacking choices; the defaults are the safe ones. */
  public static final class Options {
    final boolean allowSpecialFiles;
    final ImageLimits limits;
    final String layer;
    final long imageBytesBefore;

    private Options(
        boolean allowSpecialFiles, ImageLimits limits, String layer, long imageBytesBefore) {
      this.allowSpecialFiles = allowSpecialFiles;
      this.limits = limits;
      this.layer = layer;
      this.imageBytesBefore = imageBytesBefore;
    }

    /** Special files refused, {@link ImageLimits#defaults()}, a layer alone. */
    public static Options defaults() {
      return new Options(false, ImageLimits.defaults(), "layer", 0);
    }

    /** Skip (instead of refusing) device nodes and FIFOs; they are listed in the result. */
    public Options allowSpecialFiles() {
      return new Options(true, limits, layer, imageBytesBefore);
    }

    /** Enforce these limits instead of the defaults. */
    public Options limits(ImageLimits l) {
      return new Options(allowSpecialFiles, java.util.Objects.requireNonNull(l), layer,
          imageBytesBefore);
    }

    /** Name the layer by its digest in errors. */
    public Options layer(Digest digest) {
      return new Options(allowSpecialFiles, limits, "layer " + digest, imageBytesBefore);
    }

    /**
     * The uncompressed bytes ({@link Result#bytes()}) of the image's layers already accepted: they
     * count against {@link ImageLimits#maxImageBytes()} together with this layer's.
     */
    public Options imageBytesBefore(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("imageBytesBefore must be >= 0, got " + bytes);
      }
      return new Options(allowSpecialFiles, limits, layer, bytes);
    }
  }

  /** What unpacking did. */
  public static final class Result {
    private final int entries;
    private final long bytes;
    private final List<String> skippedSpecialFiles;
    private final int droppedModeBits;
    private final List<String> whitedOut;

    Result(int entries, long bytes, List<String> skipped, int dropped, List<String> whitedOut) {
      this.entries = entries;
      this.bytes = bytes;
      this.skippedSpecialFiles = List.copyOf(skipped);
      this.droppedModeBits = dropped;
      this.whitedOut = List.copyOf(whitedOut);
    }

    /** Tar entries processed. */
    public int entries() {
      return entries;
    }

    /** Bytes of the uncompressed tar, as counted against the limits. */
    public long bytes() {
      return bytes;
    }

    /** Device nodes and FIFOs skipped (only with {@link Options#allowSpecialFiles()}). */
    public List<String> skippedSpecialFiles() {
      return skippedSpecialFiles;
    }

    /** Number of entries whose setuid, setgid or sticky bit was dropped. */
    public int droppedModeBits() {
      return droppedModeBits;
    }

    /** Paths deleted by whiteouts (relative to the target). */
    public List<String> whitedOut() {
      return whitedOut;
    }
  }

  private final Path root;
  private final Options options;

  /** Paths (relative, normalized) this layer has written: whiteouts must not delete them. */
  private final Set<String> written = new HashSet<>();

  /** Directory modes, applied at the end so read-only directories can still be filled. */
  private final Map<Path, Integer> dirModes = new LinkedHashMap<>();

  private final List<String> skipped = new ArrayList<>();
  private final List<String> whitedOut = new ArrayList<>();
  private int dropped;

  private LayerUnpacker(Path root, Options options) {
    this.root = root;
    this.options = options;
  }

  /** Applies the layer in {@code tarFile} onto {@code target} with default options and limits. */
  public static Result unpack(Path tarFile, Path target) throws IOException {
    try (InputStream in = Files.newInputStream(tarFile)) {
      return unpack(in, target, Options.defaults());
    }
  }

  /**
   * Applies the layer read from {@code tar} (plain or gzip; not closed) onto the existing directory
   * {@code target}.
   *
   * @throws LayerException naming the entry if the tar is malformed or hostile, or naming the
   *     limit and the value reached if it breaks one; entries before it may already have been
   *     applied, so callers unpack into a fresh or disposable directory
   */
  public static Result unpack(InputStream tar, Path target, Options options) throws IOException {
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new LayerException("unpack target " + target + " is not a directory");
    }
    LayerUnpacker u = new LayerUnpacker(target.toRealPath(), options);
    int entries;
    long bytes;
    try (LayerReader in =
        new LayerReader(
            tar,
            options.limits,
            options.layer,
            options.imageBytesBefore,
            OutputStream.nullOutputStream(),
            null)) {
      TarArchiveEntry e;
      while ((e = in.next()) != null) {
        u.apply(e, in.data());
      }
      in.finish();
      entries = in.entries();
      bytes = in.bytes();
    }
    u.applyDirectoryModes();
    u.checkAllSymlinks();
    return new Result(entries, bytes, u.skipped, u.dropped, u.whitedOut);
  }

  private void apply(TarArchiveEntry e, InputStream data) throws IOException {
    String raw = e.getName();
    String rel = normalize(raw, "entry");
    if (rel.isEmpty()) {
      if (e.isDirectory()) {
        return; // "./" itself
      }
      throw new LayerException("entry \"" + raw + "\": names the target directory itself");
    }
    String base = rel.substring(rel.lastIndexOf('/') + 1);
    String parentRel = rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/')) : "";
    Path parent = ensureParent(parentRel, raw);

    if (base.equals(OPAQUE)) {
      opaque(parent, parentRel);
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      String victim = base.substring(WHITEOUT.length());
      if (victim.isEmpty() || victim.equals(".") || victim.equals("..")) {
        throw new LayerException("entry \"" + raw + "\": whiteout names no file");
      }
      String victimRel = parentRel.isEmpty() ? victim : parentRel + "/" + victim;
      if (!written.contains(victimRel)) {
        Path p = parent.resolve(victim);
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
          deleteTree(p);
          whitedOut.add(victimRel);
        }
      }
      return;
    }

    Path dest = parent.resolve(base);
    int mode = e.getMode();
    if ((mode & 07000) != 0) {
      dropped++;
    }
    if (e.isDirectory()) {
      if (Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
        // merge into the lower directory
      } else {
        removeIfPresent(dest);
        Files.createDirectory(dest);
      }
      dirModes.put(dest, mode & 0777);
    } else if (e.isSymbolicLink()) {
      checkSymlinkTarget(rel, e.getLinkName(), raw);
      removeIfPresent(dest);
      Files.createSymbolicLink(dest, Path.of(e.getLinkName()));
    } else if (e.isLink()) {
      String targetRel = normalize(e.getLinkName(), "hard link target of entry \"" + raw + "\"");
      if (!written.contains(targetRel)) {
        throw new LayerException(
            "entry \""
                + raw
                + "\": hard link to \""
                + e.getLinkName()
                + "\", which this layer has not extracted (yet); links may only point to earlier"
                + " entries of the same layer");
      }
      Path target = resolveExisting(targetRel, raw);
      if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
        throw new LayerException(
            "entry \""
                + raw
                + "\": hard link target \""
                + e.getLinkName()
                + "\" is not a regular file");
      }
      removeIfPresent(dest);
      Files.createLink(dest, target);
    } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
      if (!options.allowSpecialFiles) {
        throw new LayerException(
            "entry \""
                + raw
                + "\": device nodes and FIFOs are not allowed in layers (the TD provides /dev)");
      }
      skipped.add(rel);
      return;
    } else if (e.isFile()) {
      removeIfPresent(dest);
      try (OutputStream out =
          Files.newOutputStream(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        data.transferTo(out);
      } catch (FileAlreadyExistsException ex) {
        throw new LayerException("entry \"" + raw + "\": could not replace the existing path", ex);
      }
      setMode(dest, mode & 0777);
    } else {
      throw new LayerException(
          "entry \"" + raw + "\": unsupported tar entry type '" + (char) e.getLinkFlag() + "'");
    }
    written.add(rel);
  }

  /**
   * Normalizes a tar path: strips {@code ./} and trailing {@code /}; refuses absolute paths, {@code
   * ..}, NUL and backslash-free oddities are kept as names.
   */
  private static String normalize(String name, String what) throws LayerException {
    if (name.indexOf('\0') >= 0) {
      throw new LayerException(what + " \"" + name + "\": contains NUL");
    }
    if (name.startsWith("/")) {
      throw new LayerException(
          what + " \"" + name + "\": absolute path escapes the target directory");
    }
    List<String> parts = new ArrayList<>();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new LayerException(
            what + " \"" + name + "\": '..' would escape the target directory");
      }
      parts.add(part);
    }
    return String.join("/", parts);
  }

  /**
   * The real directory for {@code parentRel}, creating missing directories; refuses if any
   * component is a symlink or not a directory (so no write goes through a link).
   */
  private Path ensureParent(String parentRel, String raw) throws IOException {
    Path p = root;
    if (parentRel.isEmpty()) {
      return p;
    }
    for (String part : parentRel.split("/")) {
      p = p.resolve(part);
      if (Files.isSymbolicLink(p)) {
        throw new LayerException(
            "entry \""
                + raw
                + "\": its parent "
                + root.relativize(p)
                + " is a symlink; writing"
                + " through links is not allowed");
      }
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(p);
      } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        throw new LayerException(
            "entry \"" + raw + "\": its parent " + root.relativize(p) + " is not a directory");
      }
    }
    return p;
  }

  private Path resolveExisting(String rel, String raw) throws IOException {
    String parentRel = rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/')) : "";
    Path parent = ensureParent(parentRel, raw);
    return parent.resolve(rel.substring(rel.lastIndexOf('/') + 1));
  }

  /** A symlink at {@code rel} pointing to {@code target} must stay inside the layer root. */
  private static void checkSymlinkTarget(String rel, String target, String raw)
      throws LayerException {
    if (target.isEmpty() || target.indexOf('\0') >= 0) {
      throw new LayerException("entry \"" + raw + "\": symlink has an empty or NUL target");
    }
    Deque<String> stack = new ArrayDeque<>();
    if (!target.startsWith("/")) {
      String[] parts = rel.split("/");
      for (int i = 0; i < parts.length - 1; i++) {
        stack.addLast(parts[i]);
      }
    }
    for (String part : target.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (stack.isEmpty()) {
          throw new LayerException(
              "entry \""
                  + raw
                  + "\": symlink target \""
                  + target
                  + "\" resolves outside the layer");
        }
        stack.removeLast();
      } else {
        stack.addLast(part);
      }
    }
  }

  /** Most symlinks followed while resolving one path, as Linux's MAXSYMLINKS. */
  private static final int MAX_SYMLINKS = 40;

  /**
   * Links that are each harmless can escape together ({@code x -> .} then {@code y -> x/..}), and a
   * later entry or a lower layer can change what an earlier link means. So once the layer is
   * applied, every symlink in the tree is resolved as the kernel would (following the links it
   * meets, {@code ..} never above the root) and must stay inside.
   */
  private void checkAllSymlinks() throws IOException {
    List<Path> links = new ArrayList<>();
    try (java.util.stream.Stream<Path> all = Files.walk(root)) {
      all.filter(Files::isSymbolicLink).forEach(links::add);
    }
    for (Path link : links) {
      String rel = root.relativize(link).toString();
      if (!resolvesInside(rel)) {
        throw new LayerException(
            "symlink \""
                + rel
                + "\" -> \""
                + Files.readSymbolicLink(link)
                + "\": resolves outside the layer through other symlinks");
      }
    }
  }

  /**
   * Resolves the symlink at {@code rel} like the kernel, confined to the root; false if it leaves.
   */
  private boolean resolvesInside(String rel) throws IOException {
    Deque<String> resolved = new ArrayDeque<>();
    Deque<String> pending = new ArrayDeque<>();
    for (String part : rel.split("/")) {
      pending.addLast(part);
    }
    int followed = 0;
    while (!pending.isEmpty()) {
      String part = pending.removeFirst();
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (resolved.isEmpty()) {
          return false;
        }
        resolved.removeLast();
        continue;
      }
      Path p = root.resolve(String.join("/", resolved)).resolve(part);
      if (Files.isSymbolicLink(p)) {
        if (++followed > MAX_SYMLINKS) {
          return true; // a loop: the kernel gives ELOOP, nothing is reached
        }
        String target = Files.readSymbolicLink(p).toString();
        if (target.startsWith("/")) {
          resolved.clear();
        }
        String[] tparts = target.split("/");
        for (int i = tparts.length - 1; i >= 0; i--) {
          pending.addFirst(tparts[i]);
        }
      } else {
        resolved.addLast(part);
      }
    }
    return true;
  }

  private void opaque(Path dir, String dirRel) throws IOException {
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
      for (Path c : children) {
        String cRel =
            dirRel.isEmpty() ? c.getFileName().toString() : dirRel + "/" + c.getFileName();
        if (!written.contains(cRel)) {
          deleteTree(c);
          whitedOut.add(cRel);
        }
      }
    }
  }

  private void removeIfPresent(Path p) throws IOException {
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      deleteTree(p);
    }
  }

  /** Deletes a file, symlink (not its target) or directory tree, never following links. */
  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      makeWritable(p);
      try (DirectoryStream<Path> children = Files.newDirectoryStream(p)) {
        for (Path c : children) {
          deleteTree(c);
        }
      }
    }
    Files.delete(p);
  }

  private static void makeWritable(Path dir) throws IOException {
    PosixFileAttributeView v =
        Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (v != null) {
      Set<PosixFilePermission> perms = EnumSet.copyOf(v.readAttributes().permissions());
      perms.add(PosixFilePermission.OWNER_WRITE);
      perms.add(PosixFilePermission.OWNER_EXECUTE);
      perms.add(PosixFilePermission.OWNER_READ);
      v.setPermissions(perms);
    }
  }

  private void applyDirectoryModes() throws IOException {
    List<Map.Entry<Path, Integer>> all = new ArrayList<>(dirModes.entrySet());
    for (int i = all.size() - 1; i >= 0; i--) {
      Path d = all.get(i).getKey();
      if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
        // Keep owner rwx so the tree stays removable and later layers can be applied on top.
        setMode(d, all.get(i).getValue() | 0700);
      }
    }
  }

  private static void setMode(Path p, int mode) throws IOException {
    PosixFileAttributeView v =
        Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (v == null) {
      return;
    }
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        perms.add(perm);
      }
    }
    v.setPermissions(perms);
  }
}
