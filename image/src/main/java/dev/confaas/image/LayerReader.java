package dev.confaas.image;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.zip.ZipException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * One pass over a layer (plain tar or gzip) as it streams in, with {@link ImageLimits} enforced on
 * the way: the uncompressed bytes are counted (and, if asked, hashed and copied) before anyone sees
 * them, so a gzip bomb is refused after at most the limit has been inflated and written; every tar
 * header is checked (entry count, path and link target length, path depth) before its entry is
 * used. The storing path ({@link ImageRepository#putBlob}) and the unpacking path ({@link
 * LayerUnpacker}) both read layers through this class, so deploy and the TD agent apply the same
 * rules with the same messages.
 *
 * <p>Tar readers hold PAX headers and GNU long names in memory whole, before the entry they
 * describe is returned; those reads are capped here ({@link ImageLimits#maxTarHeaderBytes()}), so a
 * layer cannot exhaust the heap with one gigantic "file name".
 */
final class LayerReader implements java.io.Closeable {
  private final ImageLimits limits;
  private final String layer;
  private final Counted counted;
  private final BoundedTar tar;
  private int entries;

  /**
   * @param in the layer, gzip or plain (not closed)
   * @param layer how messages name the layer, e.g. {@code layer sha384/ab12…}
   * @param imageBytesBefore uncompressed bytes of the image's other layers already accepted, which
   *     count against {@link ImageLimits#maxImageBytes()} together with this one's
   * @param copy receives every uncompressed byte, in order (e.g. the blob's temp file)
   * @param md digests every uncompressed byte, or {@code null}
   */
  LayerReader(
      InputStream in,
      ImageLimits limits,
      String layer,
      long imageBytesBefore,
      OutputStream copy,
      MessageDigest md)
      throws IOException {
    this.limits = limits;
    this.layer = layer;
    InputStream plain;
    try {
      plain = LayerDigests.uncompressed(nonClosing(in));
    } catch (ZipException | EOFException e) {
      throw new LayerException(layer + " is not valid gzip: " + e.getMessage(), e);
    }
    this.counted = new Counted(plain, imageBytesBefore, copy, md);
    this.tar = new BoundedTar(counted);
  }

  /** Copies a layer to {@code out} within {@code limits}; returns its digest under {@code alg}. */
  static Digest copy(
      InputStream in, OutputStream out, HashAlgorithm alg, ImageLimits limits, String layer)
      throws IOException {
    MessageDigest md = alg.newDigest();
    try (LayerReader r = new LayerReader(in, limits, layer, 0, out, md)) {
      while (r.next() != null) {
        // headers are checked in next(); entry data is read (copied, hashed) by the tar reader
      }
      r.finish();
    }
    return Digest.ofHashValue(alg, md.digest());
  }

  /**
   * The next entry, checked against the limits; {@code null} at the end of the tar.
   *
   * @throws LayerException naming the layer and, where it has one, the entry
   */
  TarArchiveEntry next() throws IOException {
    TarArchiveEntry e;
    try {
      e = tar.getNextEntry();
    } catch (IOException | RuntimeException x) {
      LayerException limit = causeOfType(x);
      if (limit != null) {
        throw limit;
      }
      throw new LayerException(layer + " is not a valid tar: " + x.getMessage(), x);
    }
    if (e == null) {
      return null;
    }
    entries++;
    String name = e.getName();
    if (entries > limits.maxLayerEntries()) {
      throw new LayerException(
          layer
              + " has more than "
              + limits.maxLayerEntries()
              + " entries (limit "
              + ImageLimits.MAX_LAYER_ENTRIES
              + "); refused at entry "
              + entries
              + ", \""
              + shortened(name)
              + "\". Put fewer files in a layer, e.g. pack them in an archive the function"
              + " reads");
    }
    checkPath("entry", name, name);
    checkDepth(name);
    String link = e.getLinkName();
    if (link != null && !link.isEmpty()) {
      checkPath("link target of entry", link, name);
    }
    return e;
  }

  /** The current entry's data. */
  InputStream data() {
    return tar;
  }

  /**
   * Reads what follows the tar's end (end-of-archive blocks, padding) through the same count, copy
   * and digest, so they cover every byte of the layer.
   */
  void finish() throws IOException {
    try {
      counted.transferTo(OutputStream.nullOutputStream());
    } catch (ZipException | EOFException e) {
      throw new LayerException(layer + " is not valid gzip: " + e.getMessage(), e);
    }
  }

  /** Releases the decompressor; the stream given to the constructor stays open. */
  @Override
  public void close() throws IOException {
    tar.close();
  }

  /** Uncompressed bytes read so far. */
  long bytes() {
    return counted.count;
  }

  /** Entries returned so far. */
  int entries() {
    return entries;
  }

  private void checkPath(String what, String path, String entry) throws LayerException {
    int n = path.getBytes(StandardCharsets.UTF_8).length;
    if (n > limits.maxPathBytes()) {
      throw new LayerException(
          layer
              + ": "
              + what
              + " \""
              + shortened(entry)
              + "\" is "
              + ImageLimits.bytes(n)
              + " long, more than "
              + limits.maxPathBytes()
              + " (limit "
              + ImageLimits.MAX_PATH_BYTES
              + ")");
    }
  }

  private void checkDepth(String name) throws LayerException {
    int depth = 0;
    for (String part : name.split("/")) {
      if (!part.isEmpty() && !part.equals(".")) {
        depth++;
      }
    }
    if (depth > limits.maxPathDepth()) {
      throw new LayerException(
          layer
              + ": entry \""
              + shortened(name)
              + "\" is "
              + depth
              + " directories deep, more than "
              + limits.maxPathDepth()
              + " (limit "
              + ImageLimits.MAX_PATH_DEPTH
              + ")");
    }
  }

  private static String shortened(String s) {
    return s.length() <= 120 ? s : s.substring(0, 60) + "…" + s.substring(s.length() - 40);
  }

  private static LayerException causeOfType(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof LayerException l) {
        return l;
      }
    }
    return null;
  }

  private static InputStream nonClosing(InputStream in) {
    return new java.io.FilterInputStream(in) {
      @Override
      public void close() {}
    };
  }

  /**
   * Counts, limits, digests and copies every uncompressed byte. The check comes before the bytes
   * are passed on, so nothing past a limit is ever written.
   */
  private final class Counted extends InputStream {
    private final InputStream in;
    private final long before;
    private final OutputStream copy;
    private final MessageDigest md;
    private final byte[] one = new byte[1];
    private byte[] scratch;
    long count;

    Counted(InputStream in, long before, OutputStream copy, MessageDigest md) {
      this.in = in;
      this.before = before;
      this.copy = copy;
      this.md = md;
    }

    @Override
    public int read() throws IOException {
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n <= 0) {
        return n;
      }
      long reached = count + n;
      if (reached > limits.maxLayerBytes()) {
        throw new LayerException(
            layer
                + " expands past "
                + ImageLimits.size(limits.maxLayerBytes())
                + " (limit "
                + ImageLimits.MAX_LAYER_BYTES
                + "); refused after "
                + ImageLimits.bytes(reached)
                + ". Split it into smaller layers, or raise the limit if the platform allows");
      }
      if (before + reached > limits.maxImageBytes()) {
        throw new LayerException(
            layer
                + " brings its image past "
                + ImageLimits.size(limits.maxImageBytes())
                + " (limit "
                + ImageLimits.MAX_IMAGE_BYTES
                + "): the image's other layers have "
                + ImageLimits.bytes(before)
                + " and this one was refused after "
                + ImageLimits.bytes(reached));
      }
      if (md != null) {
        md.update(b, off, n);
      }
      copy.write(b, off, n);
      count = reached;
      return n;
    }

    /** Skipped bytes are read, so the copy and the digest see them too. */
    @Override
    public long skip(long n) throws IOException {
      if (scratch == null) {
        scratch = new byte[8192];
      }
      long left = n;
      while (left > 0) {
        int r = read(scratch, 0, (int) Math.min(scratch.length, left));
        if (r < 0) {
          break;
        }
        left -= r;
      }
      return n - left;
    }

    @Override
    public int available() throws IOException {
      return in.available();
    }

    @Override
    public boolean markSupported() {
      return false;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /** A tar reader whose in-memory reads (PAX headers, GNU long names) are capped. */
  private final class BoundedTar extends TarArchiveInputStream {
    private TarArchiveEntry meta;
    private long metaBytes;
    private long globalBytes;

    BoundedTar(InputStream in) {
      super(in, StandardCharsets.UTF_8.name());
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      TarArchiveEntry e = getCurrentEntry();
      boolean global = e != null && e.isGlobalPaxHeader();
      if (e == null
          || !(global || e.isPaxHeader() || e.isGNULongNameEntry() || e.isGNULongLinkEntry())) {
        return super.read(b, off, len);
      }
      if (e != meta) {
        meta = e;
        metaBytes = 0;
      }
      int n = super.read(b, off, len);
      if (n > 0) {
        metaBytes += n;
        if (global) {
          globalBytes += n;
        }
        long cap = limits.maxTarHeaderBytes();
        if (metaBytes > cap || globalBytes > cap) {
          throw new LayerException(
              layer
                  + ": a tar "
                  + (e.isGNULongNameEntry() || e.isGNULongLinkEntry()
                      ? "GNU long name"
                      : global ? "global PAX header" : "PAX header")
                  + " after entry "
                  + entries
                  + " is larger than "
                  + ImageLimits.bytes(cap)
                  + " (set by "
                  + ImageLimits.MAX_PATH_BYTES
                  + "); a header holds a path and a few attributes");
        }
      }
      return n;
    }
  }
}
