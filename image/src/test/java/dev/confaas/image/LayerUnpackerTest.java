package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerUnpackerTest {
  @TempDir Path tmp;
  Path target;
  Path outside;

  @BeforeEach
  void dirs() throws IOException {
    target = Files.createDirectory(tmp.resolve("rootfs"));
    outside = Files.createDirectory(tmp.resolve("outside"));
  }

  LayerUnpacker.Result apply(byte[] tar) throws IOException {
    return LayerUnpacker.unpack(
        new ByteArrayInputStream(tar), target, LayerUnpacker.Options.defaults());
  }

  void assertRefused(byte[] tar, String entry, String why) throws IOException {
    LayerException e = assertThrows(LayerException.class, () -> apply(tar));
    assertTrue(
        e.getMessage().contains("\"" + entry + "\"") && e.getMessage().contains(why),
        "expected entry [" + entry + "] and [" + why + "] in: " + e.getMessage());
    assertNothingOutside();
  }

  void assertNothingOutside() throws IOException {
    try (Stream<Path> s = Files.list(outside)) {
      assertEquals(List.of(), s.toList(), "something was written outside the target");
    }
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(2, s.count(), "only rootfs/ and outside/ may exist next to the target");
    }
  }

  @Test
  void extractsFilesDirectoriesLinksAndModes() throws IOException {
    LayerUnpacker.Result r =
        apply(
            new TarBuilder()
                .dir("./app", 0555)
                .file("./app/run.sh", "#!/bin/sh\necho hi\n", 0755)
                .file("app/data/config.txt", "x=1", 0640)
                .symlink("app/current", "data/config.txt")
                .symlink("bin-sh", "/bin/busybox")
                .hardlink("app/run-copy.sh", "./app/run.sh")
                .build());
    assertEquals(6, r.entries());
    assertEquals("#!/bin/sh\necho hi\n", Files.readString(target.resolve("app/run.sh")));
    assertEquals("rwxr-xr-x", perms(target.resolve("app/run.sh")));
    assertEquals("rw-r-----", perms(target.resolve("app/data/config.txt")));
    assertEquals("rwxr-xr-x", perms(target.resolve("app")), "owner keeps rwx so layers can stack");
    assertEquals(Path.of("data/config.txt"), Files.readSymbolicLink(target.resolve("app/current")));
    assertEquals(Path.of("/bin/busybox"), Files.readSymbolicLink(target.resolve("bin-sh")));
    assertEquals(
        Files.getAttribute(target.resolve("app/run.sh"), "unix:ino"),
        Files.getAttribute(target.resolve("app/run-copy.sh"), "unix:ino"),
        "hard link shares the inode");
  }

  @Test
  void refusesDotDotAndAbsolutePaths() throws IOException {
    assertRefused(new TarBuilder().file("../outside/evil", "x").build(), "../outside/evil", "'..'");
    assertRefused(
        new TarBuilder().file("a/../../outside/evil", "x").build(), "a/../../outside/evil", "'..'");
    assertRefused(
        new TarBuilder().file(outside.resolve("evil").toString(), "x").build(),
        outside.resolve("evil").toString(),
        "absolute path");
  }

  @Test
  void refusesSymlinksThatResolveOutsideTheLayer() throws IOException {
    assertRefused(
        new TarBuilder().symlink("a/b/link", "../../../outside").build(),
        "a/b/link",
        "resolves outside");
    assertFalse(Files.exists(target.resolve("a/b/link"), LinkOption.NOFOLLOW_LINKS));
    // Inside is fine, even through parents.
    apply(new TarBuilder().symlink("a/b/ok", "../../c/d").build());
    assertTrue(Files.isSymbolicLink(target.resolve("a/b/ok")));
  }

  @Test
  void refusesSymlinksThatOnlyEscapeTogether() throws IOException {
    // Each link alone stays inside; resolved on the host, y -> x/.. -> rootfs/.. is outside.
    LayerException e =
        assertThrows(
            LayerException.class,
            () -> apply(new TarBuilder().symlink("x", ".").symlink("y", "x/..").build()));
    assertTrue(
        e.getMessage().contains("symlink \"y\"") && e.getMessage().contains("outside"),
        e.getMessage());
  }

  @Test
  void refusesALinkThatALaterEntryOrLayerMakesEscape() throws IOException {
    // y is checked while x does not exist yet; the lower layer's x later gives it a new meaning.
    apply(new TarBuilder().dir("x", 0755).symlink("y", "x/..").build());
    LayerException e =
        assertThrows(LayerException.class, () -> apply(new TarBuilder().symlink("x", ".").build()));
    assertTrue(e.getMessage().contains("symlink \"y\""), e.getMessage());
    assertNothingOutside();
  }

  @Test
  void neverWritesThroughASymlink() throws IOException {
    // An absolute target is legal (it means the container's root) — but on the host it points
    // outside, so nothing may be written through it.
    byte[] tar =
        new TarBuilder().symlink("etc", outside.toString()).file("etc/passwd", "root::0:0").build();
    assertRefused(tar, "etc/passwd", "is a symlink");
    // Also across layers: the link came from a lower layer.
    byte[] upper = new TarBuilder().file("etc/shadow", "x").build();
    assertRefused(upper, "etc/shadow", "is a symlink");
    // Replacing the link itself with a file replaces the link, not its target.
    apply(new TarBuilder().file("etc", "now a file").build());
    assertEquals("now a file", Files.readString(target.resolve("etc")));
    assertNothingOutside();
  }

  @Test
  void refusesHardLinksOutsideOrForward() throws IOException {
    Files.writeString(outside.resolve("secret"), "s");
    LayerException e =
        assertThrows(
            LayerException.class,
            () -> apply(new TarBuilder().hardlink("h", "../outside/secret").build()));
    assertTrue(e.getMessage().contains("\"h\"") && e.getMessage().contains("'..'"), e.getMessage());
    e =
        assertThrows(
            LayerException.class,
            () -> apply(new TarBuilder().hardlink("h", "later").file("later", "x").build()));
    assertTrue(e.getMessage().contains("has not extracted"), e.getMessage());
    // A lower layer's file is not this layer's: no linking to it either.
    Files.writeString(target.resolve("lower"), "l");
    e =
        assertThrows(
            LayerException.class, () -> apply(new TarBuilder().hardlink("h2", "lower").build()));
    assertTrue(e.getMessage().contains("\"h2\""), e.getMessage());
    Files.delete(outside.resolve("secret"));
    assertNothingOutside();
  }

  @Test
  void refusesDevicesAndFifosUnlessAllowed() throws IOException {
    assertRefused(
        new TarBuilder().special("dev/sda", TarConstants.LF_BLK).build(),
        "dev/sda",
        "device nodes");
    assertRefused(
        new TarBuilder().special("dev/null", TarConstants.LF_CHR).build(),
        "dev/null",
        "device nodes");
    assertRefused(new TarBuilder().special("fifo", TarConstants.LF_FIFO).build(), "fifo", "FIFOs");
    LayerUnpacker.Result r =
        LayerUnpacker.unpack(
            new ByteArrayInputStream(
                new TarBuilder().special("fifo", TarConstants.LF_FIFO).file("f", "x").build()),
            target,
            LayerUnpacker.Options.defaults().allowSpecialFiles());
    assertEquals(List.of("fifo"), r.skippedSpecialFiles());
    assertFalse(Files.exists(target.resolve("fifo"), LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void dropsSetuidBits() throws IOException {
    LayerUnpacker.Result r =
        apply(new TarBuilder().file("su", "x", 04755).dir("tmp", 01777).build());
    assertEquals(2, r.droppedModeBits());
    assertEquals("rwxr-xr-x", perms(target.resolve("su")));
  }

  @Test
  void appliesOciWhiteoutsToLowerLayersOnly() throws IOException {
    apply(
        new TarBuilder()
            .file("a/x", "lower x")
            .file("a/y", "lower y")
            .file("b/z", "lower z")
            .file("b/sub/deep", "lower deep")
            .file("c", "lower c")
            .build());
    LayerUnpacker.Result r =
        apply(
            new TarBuilder()
                .file("a/.wh.x", "")
                .file("b/new", "upper new")
                .file("b/.wh..wh..opq", "")
                .file(".wh.c", "")
                .file("d/f", "same layer")
                .file("d/.wh.f", "")
                .build());
    assertFalse(Files.exists(target.resolve("a/x")), "a/x whited out");
    assertEquals("lower y", Files.readString(target.resolve("a/y")));
    assertFalse(Files.exists(target.resolve("b/z")), "opaque b hides lower b/z");
    assertFalse(Files.exists(target.resolve("b/sub")), "opaque b hides lower b/sub");
    assertEquals("upper new", Files.readString(target.resolve("b/new")), "same-layer b/new stays");
    assertFalse(Files.exists(target.resolve("c")));
    assertEquals("same layer", Files.readString(target.resolve("d/f")), "whiteouts skip own layer");
    assertFalse(Files.exists(target.resolve("a/.wh.x")), "whiteout markers are not extracted");
    assertTrue(
        r.whitedOut().containsAll(List.of("a/x", "b/z", "b/sub", "c")), r.whitedOut().toString());
  }

  @Test
  void upperEntriesReplaceLowerOnesOfAnotherType() throws IOException {
    apply(new TarBuilder().file("p/q", "dir content").file("f", "file").build());
    apply(new TarBuilder().file("p", "now a file").dir("f", 0755).file("f/inner", "i").build());
    assertEquals("now a file", Files.readString(target.resolve("p")));
    assertEquals("i", Files.readString(target.resolve("f/inner")));
  }

  @Test
  void acceptsGzipAndRejectsGarbage() throws IOException {
    apply(TarBuilder.gzip(new TarBuilder().file("z", "zipped").build()));
    assertEquals("zipped", Files.readString(target.resolve("z")));
    byte[] garbage = new byte[1024];
    java.util.Arrays.fill(garbage, (byte) 'x');
    LayerException e = assertThrows(LayerException.class, () -> apply(garbage));
    assertTrue(e.getMessage().contains("not a valid tar"), e.getMessage());
  }

  static String perms(Path p) throws IOException {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }
}
