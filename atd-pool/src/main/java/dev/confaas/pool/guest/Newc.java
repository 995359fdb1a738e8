package dev.confaas.pool.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Writes a staged directory as a Linux initramfs: a cpio archive in the {@code newc} format
 * (Documentation/driver-api/early-userspace/buffer-format.rst), with every field that could differ
 * between builds fixed — entries sorted by path, inode numbers in that order, owner 0:0, time 0,
 * one link each, permissions as staged (rwx bits only) — so the same tree always gives the same
 * bytes. Regular files, directories and symbolic links; plus the {@code /dev/console} node the
 * kernel opens for init's stdio before any file system is mounted.
 */
final class Newc {
  private static final int S_IFDIR = 0040000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFLNK = 0120000;
  private static final int S_IFCHR = 0020000;

  private Newc() {}

  static void write(Path root, OutputStream out) throws IOException {
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !p.equals(root)).forEach(paths::add);
    }
    // Sorted as strings of their relative names: a directory always precedes what it holds.
    List<String> names = new ArrayList<>();
    for (Path p : paths) {
      names.add(root.relativize(p).toString());
    }
    names.sort(null);
    Writer w = new Writer(out);
    boolean console = false;
    for (String name : names) {
      Path p = root.resolve(name);
      if (name.equals("dev/console")) {
        console = true;
        continue;
      }
      if (Files.isSymbolicLink(p)) {
        byte[] target = Files.readSymbolicLink(p).toString().getBytes(StandardCharsets.UTF_8);
        w.entry(name, S_IFLNK | 0777, 0, target);
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        w.entry(name, S_IFDIR | 0755, 0, new byte[0]);
      } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        w.entry(name, S_IFREG | (Files.isExecutable(p) ? 0755 : 0644), 0, Files.readAllBytes(p));
      } else {
        throw new IOException(p + " is neither a file, a directory nor a symbolic link");
      }
      if (name.equals("dev")) {
        w.entry("dev/console", S_IFCHR | 0600, (5 << 8) | 1, new byte[0]);
        console = true;
      }
    }
    if (!console) {
      throw new IOException(root + " has no dev/ directory for the console node");
    }
    w.entry("TRAILER!!!", 0, 0, new byte[0]);
    out.flush();
  }

  private static final class Writer {
    private final OutputStream out;
    private long offset;
    private int ino;

    Writer(OutputStream out) {
      this.out = out;
    }

    /** One entry; {@code rdev} is major &lt;&lt; 8 | minor for device nodes. */
    void entry(String name, int mode, int rdev, byte[] data) throws IOException {
      byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
      boolean trailer = name.equals("TRAILER!!!");
      String header =
          "070701"
              + hex(trailer ? 0 : ++ino)
              + hex(mode)
              + hex(0) // uid
              + hex(0) // gid
              + hex((mode & 0170000) == S_IFDIR ? 2 : 1) // nlink
              + hex(0) // mtime
              + hex(data.length)
              + hex(0) // devmajor
              + hex(0) // devminor
              + hex(rdev >> 8)
              + hex(rdev & 0xff)
              + hex(nameBytes.length)
              + hex(0); // check
      put(header.getBytes(StandardCharsets.US_ASCII));
      put(nameBytes);
      pad();
      put(data);
      pad();
    }

    private static String hex(long v) {
      return String.format(Locale.ROOT, "%08x", v);
    }

    private void put(byte[] b) throws IOException {
      out.write(b);
      offset += b.length;
    }

    private void pad() throws IOException {
      while (offset % 4 != 0) {
        out.write(0);
        offset++;
      }
    }
  }
}
