package dev.confaas.vendor;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.HashAlgorithm;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LayerRef;
import dev.confaas.image.ManifestException;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * A vendor's published layers and signed alias manifests, on disk under one directory:
 *
 * <pre>
 * DIR/layers/sha384/&lt;hex&gt;                      layer tarballs, named by SHA-384 of the tar
 * DIR/publications/&lt;sequence&gt;/manifest.json    each published vendor manifest, as signed,
 *                             manifest.sig       its signature,
 *                             signer.cer         and the signer's certificate (DER)
 * </pre>
 *
 * <p>{@code <sequence>} is the publication sequence number (19 digits, zero-padded): one more than
 * the highest present when the manifest was published, assigned under a file lock, so it is
 * monotonic, unique, and needs no clock. It decides which definition of an alias is the newest (see
 * {@link ContentAliases}). Every write goes to a temporary file or directory first and is moved into
 * place atomically, so readers see a publication completely or not at all.
 *
 * <p>The directory is host storage, so not trusted: every manifest is verified again when read, and
 * a layer's name is checked against its content before it is served ({@link #layer}).
 */
public final class VendorLayerRegistry {
  static final String MANIFEST = "manifest.json";
  static final String SIGNATURE = "manifest.sig";
  static final String CERTIFICATE = "signer.cer";
  private static final Pattern SEQUENCE = Pattern.compile("[0-9]{19}");
  /** Serializes publishers in this JVM; the file lock serializes processes. */
  private static final ReentrantLock IN_PROCESS = new ReentrantLock();

  private final Path root;
  private final Path layers;
  private final Path publications;
  private final Path tmp;

  private VendorLayerRegistry(Path root) {
    this.root = root;
    this.layers = root.resolve("layers").resolve(HashAlgorithm.SHA384.aconName());
    this.publications = root.resolve("publications");
    this.tmp = root.resolve("tmp");
  }

  /** Opens the registry under {@code dir}, creating its directories if needed. */
  public static VendorLayerRegistry open(Path dir) throws IOException {
    VendorLayerRegistry r = new VendorLayerRegistry(dir.toAbsolutePath().normalize());
    Files.createDirectories(r.layers);
    Files.createDirectories(r.publications);
    Files.createDirectories(r.tmp);
    return r;
  }

  public Path root() {
    return root;
  }

  /**
   * A published manifest.
   *
   * @param sequence its publication sequence number
   * @param imageId the vendor manifest's image ID
   * @param defines the alias references it defines, each {@code signer/HASH/SIGNER/NAME:SVN}
   * @param directory where it is stored
   */
  public record Publication(long sequence, ImageId imageId, List<AliasRef> defines, Path directory) {
    public Publication {
      defines = List.copyOf(defines);
    }
  }

  /**
   * Stores a layer tarball under its SHA-384 and returns that digest. Storing the same content again
   * is a no-op.
   */
  public Digest addLayer(Path tar) throws IOException {
    Path part = Files.createTempFile(tmp, "layer-", ".part");
    try {
      MessageDigest sha384 = HashAlgorithm.SHA384.newDigest();
      try (InputStream in = Files.newInputStream(tar);
          OutputStream out = Files.newOutputStream(part, StandardOpenOption.WRITE)) {
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) > 0; ) {
          sha384.update(buf, 0, n);
          out.write(buf, 0, n);
        }
      }
      force(part);
      Digest digest = Digest.ofHashValue(HashAlgorithm.SHA384, sha384.digest());
      Path target = layers.resolve(digest.hex());
      if (!Files.exists(target)) {
        moveAtomically(part, target);
        force(layers);
      }
      return digest;
    } finally {
      Files.deleteIfExists(part);
    }
  }

  /**
   * The stored tarball of {@code digest}, after checking that its content still hashes to it.
   *
   * @throws IOException if the stored file was altered
   */
  public Optional<Path> layer(Digest digest) throws IOException {
    if (digest.algorithm() != HashAlgorithm.SHA384) {
      return Optional.empty();
    }
    Path p = layers.resolve(digest.hex());
    if (!Files.isRegularFile(p)) {
      return Optional.empty();
    }
    MessageDigest sha384 = HashAlgorithm.SHA384.newDigest();
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha384.update(buf, 0, n);
      }
    }
    if (!Digest.ofHashValue(HashAlgorithm.SHA384, sha384.digest()).equals(digest)) {
      throw new IOException("layer file " + p + " does not hash to its name " + digest
          + ": the registry was altered; delete the file and publish the layer again");
    }
    return Optional.of(p);
  }

  /**
   * Publishes a vendor manifest: verifies its signature and stores it with the next sequence number,
   * so its {@code aliases.contents} become the newest definitions of their names. Publishing a
   * manifest with an image ID already published returns that publication unchanged (safe to retry).
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
    try (FileChannel lockFile = FileChannel.open(root.resolve(".lock"),
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

  private Publication publishLocked(SignedManifest vendorManifest) throws IOException {
    long next = 1;
    for (Publication p : publications()) {
      if (p.imageId().equals(vendorManifest.imageId())) {
        return p;
      }
      next = Math.max(next, p.sequence() + 1);
    }
    Path staging = Files.createTempDirectory(tmp, "publication-");
    try {
      write(staging.resolve(MANIFEST), vendorManifest.manifest().bytes());
      write(staging.resolve(SIGNATURE), vendorManifest.signature());
      write(staging.resolve(CERTIFICATE), vendorManifest.certificateDer());
      force(staging);
      Path target = publications.resolve(String.format("%019d", next));
      moveAtomically(staging, target);
      force(publications);
      return new Publication(next, vendorManifest.imageId(), defines(vendorManifest), target);
    } finally {
      deleteTree(staging);
    }
  }

  /**
   * All publications, oldest first, each verified again.
   *
   * @throws IOException if a publication is incomplete, unparsable or its signature fails: the
   *     registry was altered, and the message names the directory
   */
  public List<Publication> publications() throws IOException {
    List<Publication> out = new ArrayList<>();
    for (Loaded l : loadAll()) {
      out.add(new Publication(l.sequence, l.signed.imageId(), defines(l.signed), l.dir));
    }
    return out;
  }

  /** The content aliases of all publications, newest definition of each alias winning. */
  public ContentAliases aliases() throws IOException {
    ContentAliases aliases = ContentAliases.empty();
    for (Loaded l : loadAll()) {
      try {
        aliases = aliases.plus(l.signed, l.sequence);
      } catch (ImageVerificationException | IllegalArgumentException e) {
        throw new IOException("publication " + l.dir + ": " + e.getMessage(), e);
      }
    }
    return aliases;
  }

  /** A resolver over {@link #aliases()} as they are now. */
  public AliasResolver resolver() throws IOException {
    return new AliasResolver(aliases());
  }

  // --- internals -------------------------------------------------------------------------------

  private record Loaded(long sequence, SignedManifest signed, Path dir) {}

  private List<Loaded> loadAll() throws IOException {
    List<Path> dirs = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(publications)) {
      for (Path p : ds) {
        if (SEQUENCE.matcher(p.getFileName().toString()).matches()) {
          dirs.add(p);
        }
      }
    }
    dirs.sort(Comparator.comparing(p -> p.getFileName().toString()));
    List<Loaded> out = new ArrayList<>();
    for (Path dir : dirs) {
      long seq = Long.parseLong(dir.getFileName().toString());
      SignedManifest signed;
      try {
        signed = SignedManifest.parse(
            Files.readAllBytes(dir.resolve(MANIFEST)),
            Files.readAllBytes(dir.resolve(SIGNATURE)),
            Files.readAllBytes(dir.resolve(CERTIFICATE)));
        signed.verify();
      } catch (ImageVerificationException | ManifestException e) {
        throw new IOException("publication " + dir + " is not a valid signed manifest ("
            + e.getMessage() + "): the registry was altered; remove that directory and publish again",
            e);
      }
      out.add(new Loaded(seq, signed, dir));
    }
    return out;
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

  private static void write(Path file, byte[] bytes) throws IOException {
    Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    force(file);
  }

  /** fsync a file or directory, so an atomic rename is not undone by a crash. */
  private static void force(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      if (!Files.isDirectory(p)) {
        throw e; // some file systems cannot fsync directories; files must succeed
      }
    }
  }

  private static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot move " + from + " to " + to + " atomically; keep the registry "
          + "on one local file system", e);
    } catch (FileAlreadyExistsException e) {
      if (!Files.isRegularFile(to)) {
        throw e;
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    if (Files.isDirectory(p)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
        for (Path c : ds) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
