package dev.confaas.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Packs a directory into an uncompressed tar for {@code vendor publish --layer DIR}, reproducibly:
 * entries sorted by path, owner 0:0, modification time 0, mode from the file's permissions. The same
 * tree always gives the same bytes, hence the same layer digest, so republishing an unchanged tree
 * does not move an alias.
 */
final class VendorLayerTar {
  private VendorLayerTar() {}

  static void pack(Path dir, Path out) throws IOException {
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.filter(p -> !p.equals(dir)).forEach(paths::add);
    }
    paths.sort((a, b) -> dir.relativize(a).toString().compareTo(dir.relativize(b).toString()));
    try (OutputStream os = Files.newOutputStream(out);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Path p : paths) {
        String name = dir.relativize(p).toString().replace('\\', '/');
        TarArchiveEntry e;
        if (Files.isSymbolicLink(p)) {
          e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
          e.setLinkName(Files.readSymbolicLink(p).toString());
          e.setMode(0777);
        } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          e = new TarArchiveEntry(name + "/");
          e.setMode(040000 | mode(p));
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          e = new TarArchiveEntry(name);
          e.setSize(Files.size(p));
          e.setMode(0100000 | mode(p));
        } else {
          throw new Main.CliException(
              "cannot pack " + p + ": only regular files, directories and symlinks go into a layer");
        }
        e.setIds(0, 0);
        e.setUserName("");
        e.setGroupName("");
        e.setModTime(0);
        tar.putArchiveEntry(e);
        if (e.isFile()) {
          Files.copy(p, tar);
        }
        tar.closeArchiveEntry();
      }
    }
  }

  private static int mode(Path p) throws IOException {
    Set<PosixFilePermission> perms;
    try {
      perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
    } catch (UnsupportedOperationException e) {
      return Files.isDirectory(p) ? 0755 : 0644;
    }
    int m = 0;
    for (PosixFilePermission perm : perms) {
      m |= 1 << (8 - perm.ordinal());
    }
    return m;
  }
}
