package dev.confaas.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.zip.GZIPInputStream;

/**
 * Layer addressing: an FS layer is named by the SHA-384 ({@code sha384/<hex>}) of its
 * <em>uncompressed</em> tar, as ACON stores layers uncompressed. Gzip input (detected by its magic
 * bytes, not by file name) is decompressed first, so a {@code .tar.gz} and its {@code .tar} have
 * the same digest.
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#filesystem-layers">ACON: FS
 *     layers</a>
 */
public final class LayerDigests {
  private static final int BUFFER = 64 * 1024;

  private LayerDigests() {}

  /** The SHA-384 digest of the uncompressed tar in {@code file}. */
  public static Digest sha384(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return sha384(in);
    }
  }

  /** The SHA-384 digest of the uncompressed tar read from {@code in} (not closed). */
  public static Digest sha384(InputStream in) throws IOException {
    return copyUncompressed(in, OutputStream.nullOutputStream(), HashAlgorithm.SHA384);
  }

  /**
   * Copies the uncompressed tar from {@code in} (gzip or plain) to {@code out} and returns its
   * digest under {@code algorithm}. Neither stream is closed.
   *
   * <p>No limits apply and the content need not be a tar: for files the caller made or already
   * checked. For a layer received from someone else use {@link #copyUncompressed(InputStream,
   * OutputStream, HashAlgorithm, ImageLimits)} or {@link ImageRepository#putBlob}.
   */
  public static Digest copyUncompressed(InputStream in, OutputStream out, HashAlgorithm algorithm)
      throws IOException {
    MessageDigest md = algorithm.newDigest();
    InputStream keepOpen =
        new java.io.FilterInputStream(in) {
          @Override
          public void close() {}
        };
    try (InputStream plain = uncompressed(keepOpen);
        DigestInputStream din = new DigestInputStream(plain, md)) {
      din.transferTo(out);
    }
    return Digest.ofHashValue(algorithm, md.digest());
  }

  /**
   * Copies the uncompressed tar from {@code in} (gzip or plain) to {@code out} and returns its
   * digest under {@code algorithm}, enforcing {@code limits} while the bytes stream: at most {@link
   * ImageLimits#maxLayerBytes()} bytes ever reach {@code out}, and every tar header is checked
   * (entry count, path length and depth). Neither stream is closed.
   *
   * @throws LayerException if the content is not a tar or breaks a limit; it names the limit and
   *     the value reached. What was written to {@code out} by then is to be discarded
   */
  public static Digest copyUncompressed(
      InputStream in, OutputStream out, HashAlgorithm algorithm, ImageLimits limits)
      throws IOException {
    return LayerReader.copy(in, out, algorithm, limits, "layer");
  }

  /**
   * {@code in} with gzip removed if it starts with the gzip magic bytes {@code 1f 8b}. Closing the
   * result closes {@code in}.
   */
  public static InputStream uncompressed(InputStream in) throws IOException {
    BufferedInputStream b = new BufferedInputStream(in, BUFFER);
    b.mark(2);
    int m1 = b.read();
    int m2 = b.read();
    b.reset();
    if (m1 == 0x1f && m2 == 0x8b) {
      return new GZIPInputStream(b, BUFFER);
    }
    if (m1 == 0x28 && m2 == 0xb5) {
      throw new LayerException(
          "layer is zstd-compressed, which is not supported; use tar or tar+gzip");
    }
    return b;
  }

  /** True if {@code file} starts with the gzip magic bytes. */
  static boolean isGzip(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return in.read() == 0x1f && in.read() == 0x8b;
    }
  }
}
