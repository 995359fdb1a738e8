package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageLimits;
import dev.confaas.image.ImageRepository;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.LayerException;
import dev.confaas.image.LayerRef;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * A vendor's published layers and signed alias manifests, on disk under one directory. The directory
 * is an {@link ImageRepository} (layer blobs and verified signed images, so the vendor image can be
 * loaded into a TD from it like any other image), plus the publication log:
 *
 * <pre>
 * DIR/blobs/sha384/&lt;hex&gt;                  layer tarballs (uncompressed), by SHA-384
 * DIR/images/HASH/SIGNER/MANIFEST/         each published vendor manifest, signature, certificate
 * DIR/publications/&lt;sequence&gt;            one line: the image ID published with that sequence
 * </pre>
 *
 * <p>{@code <sequence>} is the publication sequence number (19 digits, zero-padded): one more than
 * the highest present when the manifest was published, assigned under a file lock, so it is
 * monotonic, unique, and needs no clock. It decides which definition of an alias is the newest (see
 * {@link ContentAliases}). Every file is written to a temporary name, forced to disk and renamed
 * into place, so readers see a publication completely or not at all; the image is stored before
 * its publication record, so a record never names a missing image.
 *
 * <p>The directory is host storage, so not trusted: every published manifest is verified again when
 * read, and a layer is checked against its digest before it is served ({@link #layer}).
 */
public final class VendorLayerRegistry {
  private static final Pattern SEQUENCE = Pattern.compile("[0-9]{19}");
  /** Serializes publishers in this JVM; the file lock serializes processes. */
  private static final ReentrantLock IN_PROCESS = new ReentrantLock();

  private final ImageRepository repository;
  private final Path publications;

  private VendorLayerRegistry(ImageRepository repository) {
    this.repository = repository;
    this.publications = repository.root().resolve("publications");
  }

  /** Opens the registry under {@code dir}, creating it if needed, with the default image limits. */
  public static VendorLayerRegistry open(Path dir) throws IOException {
    return open(dir, ImageLimits.defaults());
  }

  /** Opens the registry under {@code dir}, creating it if needed; its repository keeps {@code limits}. */
  public static VendorLayerRegistry open(Path dir, ImageLimits limits) throws IOException {
    VendorLayerRegistry r =
        new VendorLayerRegistry(ImageRepository.open(dir.toAbsolutePath().normalize(), limits));
    Files.createDirectories(r.publications);
    return r;
  }

  public Path root() {
    return repository.root();
  }

  /** The image repository holding the layers and the vendor images (to load them into TDs). */
  public ImageRepository repository() {
    return repository;
  }

  /**
   * A published manifest.
   *
   * @param sequence its publication sequence number
   * @param imageId the vendor manifest's image ID
   * @param defines the alias references it defines, each {@code signer/HASH/SIGNER/NAME:SVN}
   */
  public record Publication(long sequence, ImageId imageId, List<AliasRef> defines) {
    public Publication {
      defines = List.copyOf(defines);
    }
  }

  /**
   * Stores a layer tarball (plain or gzip; stored uncompressed, as ACON addresses layers) and returns
   * its SHA-384 digest. Storing the same content again is a no-op.
   */
  public Digest addLayer(Path tar) throws IOException {
    checkIsTar(tar);
    try (InputStream in = Files.newInputStream(tar)) {
      return repository.putBlob(in);
    }
  }

  /** Refuses what is not a tar with at least one entry, so a wrong file fails here, not in a TD. */
  private static void checkIsTar(Path file) throws IOException {
    try (InputStream in = LayerDigests.uncompressed(Files.newInputStream(file));
        TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      int entries = 0;
      while (tar.getNextEntry() != null) {
        entries++;
      }
      if (entries == 0) {
        throw new LayerException(file + " is not a tar archive or holds no entries; a layer is a"
            + " tar (optionally gzip-compressed) of the files to add");
      }
    } catch (LayerException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      throw new LayerException(file + " is not a readable tar archive (" + e.getMessage()
          + "); a layer is a tar (optionally gzip-compressed) of the files to add", e);
    }
  }

  /**
   * The stored tarball of {@code digest}, after checking that its content still hashes to it.
   *
   * @throws IOException if the stored file was altered
   */
  public Optional<Path> layer(Digest digest) throws IOException {
    if (!repository.hasBlob(digest)) {
      return Optional.empty();
    }
    Path p = repository.blobPath(digest);
    Digest actual;
    try (InputStream in = Files.newInputStream(p)) {
      actual = LayerDigests.copyUncompressed(in, OutputStream.nullOutputStream(),
          digest.algorithm());
    }
    if (!actual.equals(digest)) {
      throw new IOException("layer file " + p + " does not hash to its name " + digest
          + ": the registry was altered; delete the file and publish the layer again");
    }
    return Optional.of(p);
  }

  /**
   * Publishes a vendor manifest: verifies its signature, stores it, and records it with the next
   * sequence number, so its {@code aliases.contents} become the newest definitions of their names.
   * Publishing a manifest whose image ID is already published returns that publication unchanged
   * (safe to retry; to roll back, sign a new manifest).
   *
   * @throws ImageVerificationException if the signature does not verify
   * @throws IllegalArgumentException if the manifest defines no content aliases, or one alias twice
   */
  public Publication publish(SignedManifest vendorManifest)
      throws IOException, ImageVerificationException {
    vendorManifest.verify();
    if (vendorManifest.manifest().aliases().contents().isEmpty()) {
      throw new IllegalArgumentException(
          "manifest " + vendorManifest.imageId() + " defines no aliases.contents; a vendor "
              + "publication maps NAME:SVN aliases to layers");
    }
    ContentAliases.empty().plus(vendorManifest, 0); // rejects one alias defined twice
    IN_PROCESS.lock();
    try (FileChannel lockFile = FileChannel.open(publications.resolve(".lock"),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock = lockFile.lock();
      try {
        return publishLocked(vendorManifest);
      } finally {
        lock.release();
      }
    } finally {
      IN_PROCESS.unlock();
    }
  }

  private Publication publishLocked(SignedManifest vendorManifest)
      throws IOException, ImageVerificationException {
    long next = 1;
    for (Record r : records()) {
      if (r.imageId.equals(vendorManifest.imageId())) {
        return new Publication(r.sequence, r.imageId, defines(vendorManifest));
      }
      next = Math.max(next, r.sequence + 1);
    }
    repository.putImage(vendorManifest);
    Path part = Files.createTempFile(publications, ".publication-", ".part");
    try {
      Files.write(part, (vendorManifest.imageId() + "\n").getBytes(StandardCharsets.US_ASCII));
      force(part);
      try {
        Files.move(part, publications.resolve(String.format("%019d", next)),
            StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename within " + publications + " atomically; keep the "
            + "registry on a local file system", e);
      }
      force(publications);
    } finally {
      Files.deleteIfExists(part);
    }
    return new Publication(next, vendorManifest.imageId(), defines(vendorManifest));
  }

  /**
   * All publications, oldest first, each manifest verified again.
   *
   * @throws IOException if a publication record is unreadable or names an image that is missing or
   *     no longer verifies: the registry was altered, and the message names the record
   */
  public List<Publication> publications() throws IOException {
    List<Publication> out = new ArrayList<>();
    for (Record r : records()) {
      out.add(new Publication(r.sequence, r.imageId, defines(load(r))));
    }
    return out;
  }

  /** The content aliases of all publications, newest definition of each alias winning. */
  public ContentAliases aliases() throws IOException {
    ContentAliases aliases = ContentAliases.empty();
    for (Record r : records()) {
      try {
        aliases = aliases.plus(load(r), r.sequence);
      } catch (ImageVerificationException | IllegalArgumentException e) {
        throw new IOException("publication " + r.file + ": " + e.getMessage(), e);
      }
    }
    return aliases;
  }

  /**
   * A resolver over {@link #aliases()} as they are now. It is a snapshot (every manifest verified
   * once); ask for a new one after a publication.
   */
  public AliasResolver resolver() throws IOException {
    return new AliasResolver(aliases());
  }

  // --- internals -------------------------------------------------------------------------------

  private record Record(long sequence, ImageId imageId, Path file) {}

  private List<Record> records() throws IOException {
    List<Record> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(publications)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (!SEQUENCE.matcher(name).matches()) {
          continue;
        }
        String line = Files.readString(p, StandardCharsets.US_ASCII).trim();
        try {
          out.add(new Record(Long.parseLong(name), ImageId.parse(line), p));
        } catch (IllegalArgumentException e) {
          throw new IOException("publication " + p + " does not hold an image ID (" + e.getMessage()
              + "): the registry was altered; remove that file and publish again", e);
        }
      }
    }
    out.sort((a, b) -> Long.compare(a.sequence, b.sequence));
    return out;
  }

  private SignedManifest load(Record r) throws IOException {
    try {
      return repository.getImage(r.imageId).orElseThrow(() -> new IOException(
          "publication " + r.file + " names image " + r.imageId + ", which is not in "
              + repository.root() + "; the registry was altered, publish that manifest again"));
    } catch (ImageVerificationException e) {
      throw new IOException("publication " + r.file + ": " + e.getMessage()
          + "; remove the image and publish the manifest again", e);
    }
  }

  private static List<AliasRef> defines(SignedManifest signed) {
    List<AliasRef> out = new ArrayList<>();
    for (Map.Entry<LayerRef, List<NameSvn>> e :
        signed.manifest().aliases().contents().entrySet()) {
      for (NameSvn n : e.getValue()) {
        out.add(AliasRef.of(signed.signerId(), n));
      }
    }
    return out;
  }

  /** fsync a file or directory, so a rename is not undone by a crash. */
  private static void force(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      if (!Files.isDirectory(p)) {
        throw e; // some file systems cannot fsync directories; files must succeed
      }
    }
  }
}
