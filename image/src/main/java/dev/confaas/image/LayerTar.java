package dev.confaas.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes a directory as a reproducible layer tar: the same tree gives the same bytes, hence the
 * same {@code sha384/...} layer digest, on any machine and at any time. Entries are sorted by their
 * UTF-8 path bytes, parents before children; modification time is fixed ({@link #EPOCH}), owner and
 * group are 0 with empty names, permission bits (rwx) are kept as on disk (0644/0755 where the file
 * system has no POSIX modes), symlinks are stored as symlinks, long and non-ASCII names use PAX
 * headers. Sockets, devices and FIFOs are refused. Hard links are stored as separate files.
 */
public final class LayerTar {
  /** The modification time written for every entry (1970-01-01T00:00:00Z). */
  public static final long EPOCH = 0L;

  private LayerTar() {}

  /**
   * Writes the tree under {@code dir} as a tar to {@code out} (not closed), each path prefixed by
   * {@code prefix} (e.g. {@code "fn/"}, or empty for the root; the prefix's directories are written
   * too). Returns the SHA-384 layer digest of the bytes written.
   */
  public static Digest write(Path dir, String prefix, OutputStream out) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new LayerException(dir + " is not a directory");
    }
    String p = normalizePrefix(prefix);
    MessageDigest md = HashAlgorithm.SHA384.newDigest();
    DigestOutputStream dout = new DigestOutputStream(nonClosing(out), md);
    try (TarArchiveOutputStream tar =
        new TarArchiveOutputStream(dout, StandardCharsets.UTF_8.name())) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      tar.setAddPaxHeadersForNonAsciiNames(true);
      if (!p.isEmpty()) {
        String[] parts = p.split("/");
        StringBuilder acc = new StringBuilder();
        for (String part : parts) {
          acc.append(part).append('/');
          TarArchiveEntry e = new TarArchiveEntry(acc.toString(), TarConstants.LF_DIR, true);
          fixed(e, 0755);
          tar.putArchiveEntry(e);
          tar.closeArchiveEntry();
        }
      }
      for (Path f : sortedTree(dir)) {
        String rel = relative(dir, f);
        String name = p + rel;
        TarArchiveEntry e;
        if (Files.isSymbolicLink(f)) {
          e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
          e.setLinkName(Files.readSymbolicLink(f).toString());
          fixed(e, 0777);
          tar.putArchiveEntry(e);
          tar.closeArchiveEntry();
        } else if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
          e = new TarArchiveEntry(name + "/", TarConstants.LF_DIR, true);
          fixed(e, mode(f, 0755));
          tar.putArchiveEntry(e);
          tar.closeArchiveEntry();
        } else if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
          fixed(e, mode(f, 0644));
          e.setSize(Files.size(f));
          tar.putArchiveEntry(e);
          try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            in.transferTo(tar);
          }
          tar.closeArchiveEntry();
        } else {
          throw new LayerException(
              f + ": sockets, devices and FIFOs cannot be put in a function layer");
        }
      }
      tar.finish();
    }
    return Digest.ofHashValue(HashAlgorithm.SHA384, md.digest());
  }

  /** Writes {@code dir} to the file {@code tarFile}; returns its layer digest. */
  public static Digest write(Path dir, String prefix, Path tarFile) throws IOException {
    try (OutputStream out = Files.newOutputStream(tarFile)) {
      return write(dir, prefix, out);
    }
  }

  private static String normalizePrefix(String prefix) throws LayerException {
    String p = prefix == null ? "" : prefix;
    while (p.startsWith("/")) {
      p = p.substring(1);
    }
    if (p.isEmpty()) {
      return "";
    }
    if (!p.endsWith("/")) {
      p = p + "/";
    }
    for (String part : p.substring(0, p.length() - 1).split("/")) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        throw new LayerException(
            "layer path prefix \"" + prefix + "\" must be a plain relative path");
      }
    }
    return p;
  }

  private static void fixed(TarArchiveEntry e, int mode) {
    e.setModTime(new Date(EPOCH));
    e.setUserId(0);
    e.setGroupId(0);
    e.setUserName("");
    e.setGroupName("");
    e.setMode((e.getMode() & ~07777) | (mode & 0777));
  }

  private static int mode(Path f, int dflt) throws IOException {
    PosixFileAttributeView v =
        Files.getFileAttributeView(f, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (v == null) {
      return dflt;
    }
    Set<PosixFilePermission> perms = v.readAttributes().permissions();
    int m = 0;
    for (PosixFilePermission perm : perms) {
      m |= 1 << (8 - perm.ordinal());
    }
    return m;
  }

  /** All paths under {@code dir} (not {@code dir}), sorted by UTF-8 bytes of the relative path. */
  private static List<Path> sortedTree(Path dir) throws IOException {
    List<Path> all = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir)) {
      s.filter(f -> !f.equals(dir)).forEach(all::add);
    }
    all.sort(
        (a, b) ->
            Arrays.compareUnsigned(
                relative(dir, a).getBytes(StandardCharsets.UTF_8),
                relative(dir, b).getBytes(StandardCharsets.UTF_8)));
    return all;
  }

  private static String relative(Path dir, Path f) {
    return dir.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
  }

  private static OutputStream nonClosing(OutputStream out) {
    return new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        out.flush();
      }
    };
  }
}
