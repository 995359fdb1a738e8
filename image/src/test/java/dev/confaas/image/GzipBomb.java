package dev.confaas.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * A tar bomb as an attacker makes one: a valid gzip (one member) of a tar holding one file of
 * zeros, about 1 KB of gzip per MiB of tar; 1 GiB comes out as ~1.04 MB, like the layer in issue
 * 11.
 *
 * <p>Deflating 1 GiB takes seconds, so the stream is assembled instead: after a full flush a
 * deflate block is byte-aligned and refers to nothing before it, so the block that encodes 1 MiB
 * of zeros can be repeated as often as wanted. Only the CRC-32 trailer needs the whole input.
 */
final class GzipBomb {
  private static final int MIB = 1 << 20;

  private GzipBomb() {}

  /** A gzip of a tar whose uncompressed size is {@code mib} MiB (at least 2). */
  static byte[] ofMiB(int mib) throws IOException {
    byte[] zeros = new byte[MIB];
    // The tar: one header, then zeros (file data, padding and the end-of-archive blocks alike).
    TarArchiveEntry e = new TarArchiveEntry("zeros");
    e.setSize((long) mib * MIB - 3 * 512);
    byte[] first = new byte[MIB];
    e.writeEntryHeader(first);

    Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff});
    out.write(deflate(d, first, Deflater.FULL_FLUSH));
    byte[] block = deflate(d, zeros, Deflater.FULL_FLUSH);
    for (int i = 1; i < mib; i++) {
      out.write(block);
    }
    d.finish();
    out.write(deflate(d, new byte[0], Deflater.NO_FLUSH));
    d.end();

    CRC32 crc = new CRC32();
    crc.update(first);
    for (int i = 1; i < mib; i++) {
      crc.update(zeros);
    }
    ByteBuffer trailer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    trailer.putInt((int) crc.getValue()).putInt((int) ((long) mib * MIB));
    out.write(trailer.array());
    return out.toByteArray();
  }

  /** Deflates {@code input} and flushes; after {@code finish()}, until the final block is out. */
  private static byte[] deflate(Deflater d, byte[] input, int flush) {
    d.setInput(input);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    while (true) {
      int n = d.deflate(buf, 0, buf.length, flush);
      out.write(buf, 0, n);
      if (d.finished() || (n < buf.length && d.needsInput() && flush == Deflater.FULL_FLUSH)) {
        return out.toByteArray();
      }
    }
  }
}
