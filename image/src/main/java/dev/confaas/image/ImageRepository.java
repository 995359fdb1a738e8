package dev.confaas.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * An on-disk, content-addressed store of signed images and their layer blobs, shared by the CLI and
 * the gateway.
 *
 * <pre>
 * ROOT/blobs/HASH/HEX                       uncompressed layer tars, by digest
 * ROOT/images/HASH/SIGNER/MANIFEST/         one signed image, by image ID:
 *     manifest.json  signature  certificate.der
 * ROOT/names/NAME                           an image ID per name (a tag), one line
 * ROOT/tmp/                                 work area; stale entries swept
 * </pre>
 *
 * <p>Crash safety: everything is written under {@code tmp/}, forced to disk, then renamed into
 * place (a whole image directory in one rename), and the parent directory is forced; so a reader
 * sees a blob, an image or a name either complete or not at all. Blobs are verified against their
 * digest before they become visible; images are verified (signature and ID) on the way in and again
 * on the way out, since the disk is outside the trust boundary.
 *
 * <p>Limits: blobs and manifests are checked against the repository's {@link ImageLimits} while
 * they stream in (a gzip bomb is refused after at most {@link ImageLimits#maxLayerBytes()} bytes
 * reached the temp file, which is then deleted); {@link #checkImageBytes} checks an image's layers
 * together.
 *
 * <p>Temp files: what a crash or a cut-off upload leaves under {@code tmp/} is deleted once it is
 * older than {@link #STALE_TEMP_AGE}: at open, and again at most once per that period while the
 * repository writes. Younger entries are kept, since another process may be writing them.
 */
public final class ImageRepository {
  static final String MANIFEST = "manifest.json";
  static final String SIGNATURE = "signature";
  static final String CERTIFICATE = "certificate.der";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /**
   * How old an entry under {@code tmp/} must be to count as abandoned. A write in progress touches
   * its file as it goes, so only what a dead writer left reaches this age.
   */
  public static final Duration STALE_TEMP_AGE = Duration.ofHours(1);

  private final Path root;
  private final Path blobs;
  private final Path images;
  private final Path names;
  private final Path tmp;
  private final ImageLimits limits;
  private final Clock clock;
  private final Object sweepLock = new Object();
  private Instant nextSweep;

  private ImageRepository(Path root, ImageLimits limits, Clock clock) {
    this.root = root;
    this.limits = limits;
    this.clock = clock;
    this.blobs = root.resolve("blobs");
    this.images = root.resolve("images");
    this.names = root.resolve("names");
    this.tmp = root.resolve("tmp");
  }

  /** {@link #open(Path, ImageLimits, Clock)} with the default limits and the system clock. */
  public static ImageRepository open(Path root) throws IOException {
    return open(root, ImageLimits.defaults(), Clock.systemUTC());
  }

  /** {@link #open(Path, ImageLimits, Clock)} with the system clock. */
  public static ImageRepository open(Path root, ImageLimits limits) throws IOException {
    return open(root, limits, Clock.systemUTC());
  }

  /**
   * Opens (creating if needed) the repository at {@code root}, whose writes obey {@code limits},
   * and deletes unfinished writes older than {@link #STALE_TEMP_AGE} by {@code clock}.
   */
  public static ImageRepository open(Path root, ImageLimits limits, Clock clock)
      throws IOException {
    ImageRepository r = new ImageRepository(root, limits, clock);
    for (Path d : List.of(r.blobs, r.images, r.names, r.tmp)) {
      Files.createDirectories(d);
    }
    r.sweepTmp();
    return r;
  }

  public Path root() {
    return root;
  }

  /** The limits blobs and manifests stored here must keep. */
  public ImageLimits limits() {
    return limits;
  }

  // --- blobs -----------------------------------------------------------------------------------

  /**
   * Stores a layer (plain tar or gzip; stored uncompressed) and returns its SHA-384 digest. Storing
   * a blob that is already there is a no-op.
   *
   * @throws LayerException if it is not a tar or breaks a limit ({@link ImageLimits}: layer bytes,
   *     entries, path length and depth), checked while it streams; nothing is stored then
   */
  public Digest putBlob(InputStream layer) throws IOException {
    Path t = tmpFile();
    try {
      Digest d;
      try (OutputStream out = Files.newOutputStream(t, StandardOpenOption.CREATE_NEW)) {
        d = LayerReader.copy(layer, out, HashAlgorithm.SHA384, limits, "layer");
      }
      publishBlob(t, d);
      return d;
    } finally {
      Files.deleteIfExists(t);
    }
  }

  /**
   * Stores a layer that must have digest {@code expected} (of its uncompressed bytes, under the
   * digest's own algorithm).
   *
   * @throws LayerException if the content does not match, is not a tar or breaks a limit (as
   *     {@link #putBlob(InputStream)}, naming {@code expected}); nothing is stored then
   */
  public void putBlob(Digest expected, InputStream layer) throws IOException {
    Path t = tmpFile();
    try {
      Digest d;
      try (OutputStream out = Files.newOutputStream(t, StandardOpenOption.CREATE_NEW)) {
        d = LayerReader.copy(layer, out, expected.algorithm(), limits, "layer " + expected);
      }
      if (!d.equals(expected)) {
        throw new LayerException(
            "blob content has digest " + d + ", not the expected " + expected + "; nothing stored");
      }
      publishBlob(t, d);
    } finally {
      Files.deleteIfExists(t);
    }
  }

  private void publishBlob(Path t, Digest d) throws IOException {
    Path dest = blobPath(d);
    if (Files.exists(dest)) {
      return;
    }
    force(t);
    Files.createDirectories(dest.getParent());
    moveAtomically(t, dest);
    forceDir(dest.getParent());
  }

  public boolean hasBlob(Digest d) {
    return Files.isRegularFile(blobPath(d), LinkOption.NOFOLLOW_LINKS);
  }

  /** Where the blob with digest {@code d} is (or would be) stored. */
  public Path blobPath(Digest d) {
    return blobs.resolve(d.algorithm().aconName()).resolve(d.hex());
  }

  /**
   * Opens a stored blob.
   *
   * @throws NoSuchFileException naming the digest if it is not stored
   */
  public InputStream openBlob(Digest d) throws IOException {
    Path p = blobPath(d);
    if (!hasBlob(d)) {
      throw new NoSuchFileException(p.toString(), null, "blob " + d + " is not in the repository");
    }
    return Files.newInputStream(p);
  }

  /**
   * Checks that the stored blobs of an image's layers (each counted once, as ACON loads a layer
   * once) keep {@link ImageLimits#maxImageBytes()} together; returns their total. Layers not stored
   * count as 0 bytes: check again when they arrive.
   *
   * @throws LayerException naming the limit, the total and each layer's size
   */
  public long checkImageBytes(Collection<Digest> layers) throws IOException {
    long total = 0;
    StringBuilder sizes = new StringBuilder();
    for (Digest d : new LinkedHashSet<>(layers)) {
      if (!hasBlob(d)) {
        continue;
      }
      long n = Files.size(blobPath(d));
      total += n;
      sizes.append(sizes.length() == 0 ? "" : ", ").append(d).append(": ").append(n);
    }
    if (total > limits.maxImageBytes()) {
      throw new LayerException(
          "the image's layers expand to "
              + ImageLimits.bytes(total)
              + " together, more than "
              + ImageLimits.size(limits.maxImageBytes())
              + " (limit "
              + ImageLimits.MAX_IMAGE_BYTES
              + "); layer sizes in bytes: "
              + sizes
              + ". Make the function's layers smaller");
    }
    return total;
  }

  /**
   * Layer digests {@code manifest} names directly that are not stored (aliases are resolved
   * elsewhere).
   */
  public List<Digest> missingBlobs(Manifest manifest) {
    List<Digest> missing = new ArrayList<>();
    for (LayerRef l : manifest.layers()) {
      if (l instanceof Digest && !hasBlob((Digest) l)) {
        missing.add((Digest) l);
      }
    }
    return missing;
  }

  // --- images ----------------------------------------------------------------------------------

  /**
   * Verifies and stores a signed image. Storing an image that is already there keeps the first copy
   * (any valid signature binds the same ID).
   *
   * @throws ImageVerificationException if its signature does not verify; nothing is stored then
   * @throws ManifestException if the manifest is over {@link ImageLimits#maxManifestBytes()}
   */
  public ImageId putImage(SignedManifest image) throws IOException, ImageVerificationException {
    limits.checkManifestSize(image.manifest().bytes().length);
    image.verify();
    ImageId id = image.imageId();
    Path dest = imageDir(id);
    if (Files.isDirectory(dest)) {
      return id;
    }
    maybeSweepTmp();
    Path t = tmp.resolve(UUID.randomUUID().toString());
    Files.createDirectory(t);
    try {
      writeForced(t.resolve(MANIFEST), image.manifest().bytes());
      writeForced(t.resolve(SIGNATURE), image.signature());
      writeForced(t.resolve(CERTIFICATE), image.certificateDer());
      forceDir(t);
      Files.createDirectories(dest.getParent());
      try {
        moveAtomically(t, dest);
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException raced) {
        return id; // another writer stored the same image first
      }
      forceDir(dest.getParent());
      return id;
    } finally {
      if (Files.exists(t)) {
        deleteTree(t);
      }
    }
  }

  /**
   * The stored image with this ID, verified again.
   *
   * @throws ImageVerificationException if the stored files no longer verify or no longer have this
   *     ID (the disk was altered)
   */
  public Optional<SignedManifest> getImage(ImageId id)
      throws IOException, ImageVerificationException {
    Path dir = imageDir(id);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    SignedManifest sm;
    try {
      Path manifest = dir.resolve(MANIFEST);
      limits.checkManifestSize(Files.size(manifest));
      sm =
          SignedManifest.parse(
              Files.readAllBytes(manifest),
              Files.readAllBytes(dir.resolve(SIGNATURE)),
              Files.readAllBytes(dir.resolve(CERTIFICATE)),
              limits);
    } catch (ManifestException e) {
      throw new ImageVerificationException(
          "stored manifest of " + id + " is invalid: " + e.getMessage(), e);
    }
    if (!sm.imageId().equals(id)) {
      throw new ImageVerificationException(
          "stored files under "
              + id
              + " have image ID "
              + sm.imageId()
              + "; the repository was altered");
    }
    sm.verify();
    return Optional.of(sm);
  }

  public boolean hasImage(ImageId id) {
    return Files.isDirectory(imageDir(id), LinkOption.NOFOLLOW_LINKS);
  }

  /** IDs of all stored images, sorted. */
  public List<ImageId> listImages() throws IOException {
    List<ImageId> out = new ArrayList<>();
    for (HashAlgorithm alg : HashAlgorithm.values()) {
      Path a = images.resolve(alg.aconName());
      if (!Files.isDirectory(a)) {
        continue;
      }
      try (DirectoryStream<Path> signers = Files.newDirectoryStream(a)) {
        for (Path s : signers) {
          try (DirectoryStream<Path> ms = Files.newDirectoryStream(s)) {
            for (Path m : ms) {
              try {
                out.add(
                    ImageId.parse(alg.aconName() + "/" + s.getFileName() + "/" + m.getFileName()));
              } catch (IllegalArgumentException ignored) {
                // not an image directory; the repository only ever creates valid ones
              }
            }
          }
        }
      }
    }
    out.sort((x, y) -> x.toString().compareTo(y.toString()));
    return out;
  }

  private Path imageDir(ImageId id) {
    return images
        .resolve(id.algorithm().aconName())
        .resolve(id.signerId().hex())
        .resolve(id.manifestHex());
  }

  // --- names -----------------------------------------------------------------------------------

  /**
   * Points {@code name} at a stored image (replacing what it pointed at).
   *
   * @throws IllegalArgumentException if the name is not {@code [A-Za-z0-9][A-Za-z0-9._-]*} (at most
   *     128) or the image is not stored
   */
  public void tag(String name, ImageId id) throws IOException {
    checkName(name);
    if (!hasImage(id)) {
      throw new IllegalArgumentException(
          "cannot name " + id + " \"" + name + "\": it is not stored");
    }
    Path t = tmpFile();
    try {
      writeForced(t, (id + "\n").getBytes(StandardCharsets.US_ASCII));
      Files.move(
          t,
          names.resolve(name),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      forceDir(names);
    } finally {
      Files.deleteIfExists(t);
    }
  }

  /** The image ID {@code name} points at. */
  public Optional<ImageId> lookup(String name) throws IOException {
    checkName(name);
    Path p = names.resolve(name);
    if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    return Optional.of(ImageId.parse(Files.readString(p, StandardCharsets.US_ASCII).trim()));
  }

  /** All names, sorted. */
  public Map<String, ImageId> names() throws IOException {
    Map<String, ImageId> out = new TreeMap<>();
    try (DirectoryStream<Path> ns = Files.newDirectoryStream(names)) {
      for (Path p : ns) {
        String n = p.getFileName().toString();
        if (NAME.matcher(n).matches()) {
          lookup(n).ifPresent(id -> out.put(n, id));
        }
      }
    }
    return out;
  }

  private static void checkName(String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "image name \""
              + name
              + "\" must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 128 characters)");
    }
  }

  // --- files -----------------------------------------------------------------------------------

  private Path tmpFile() {
    maybeSweepTmp();
    return tmp.resolve(UUID.randomUUID() + ".part");
  }

  private void sweepTmp() throws IOException {
    synchronized (sweepLock) {
      nextSweep = clock.instant().plus(STALE_TEMP_AGE);
    }
    deleteStaleFiles(tmp, STALE_TEMP_AGE, clock);
  }

  /** A long-running writer (the gateway) sweeps now and then, not only when it starts. */
  private void maybeSweepTmp() {
    synchronized (sweepLock) {
      if (clock.instant().isBefore(nextSweep)) {
        return;
      }
    }
    try {
      sweepTmp();
    } catch (IOException e) {
      // Sweeping is housekeeping: the write it precedes must not fail because of it.
    }
  }

  /**
   * Deletes the entries directly under {@code dir} (files, or directories with their contents)
   * last modified more than {@code olderThan} ago by {@code clock}; a directory counts as modified
   * when anything in it was. For work areas such as upload directories, at start and now and then:
   * what a killed writer left is removed, what a live one is writing is kept. Entries that vanish
   * meanwhile are skipped.
   *
   * @return the number of entries deleted
   */
  public static int deleteStaleFiles(Path dir, Duration olderThan, Clock clock)
      throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    FileTime cutoff = FileTime.from(clock.instant().minus(olderThan));
    int deleted = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        try {
          if (newestModification(p).compareTo(cutoff) < 0) {
            deleteTree(p);
            deleted++;
          }
        } catch (NoSuchFileException gone) {
          // its writer finished (renamed it into place) or removed it
        }
      }
    }
    return deleted;
  }

  private static FileTime newestModification(Path p) throws IOException {
    FileTime newest = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(p)) {
        for (Path c : children) {
          FileTime t = newestModification(c);
          if (t.compareTo(newest) > 0) {
            newest = t;
          }
        }
      }
    }
    return newest;
  }

  private static void writeForced(Path p, byte[] data) throws IOException {
    try (FileChannel ch =
        FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(data));
      ch.force(true);
    }
  }

  private static void force(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Makes a rename durable (Linux allows fsync on a directory opened read-only). */
  private static void forceDir(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not supported on this file system: the rename is still atomic, just not yet durable.
    }
  }

  private static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException(
          "the repository's file system cannot rename atomically (" + e.getMessage() + ")", e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(p)) {
        for (Path c : children) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
