package dev.confaas.pool.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * The guest image from the host's real packages: reproducible (two builds, the same bytes), and
 * holding init, busybox, util-linux's unshare, the JRE, the agent unchanged and the kernel modules,
 * as a newc archive with every varying field fixed.
 */
class GuestImageBuilderTest {

  @Test
  void twoBuildsFromTheSameInputsAreTheSameBytes() throws IOException {
    GuestImage a = TestGuestImages.image();
    GuestImage b = TestGuestImages.builder().build(TestGuestImages.workDir().resolve("b"));
    assertEquals(
        hex(a.initrdSha384()), hex(b.initrdSha384()), "initrd digest differs between builds");
    assertEquals(hex(a.kernelSha384()), hex(b.kernelSha384()));
    assertEquals(a.cmdline(), b.cmdline());
    assertEquals(
        Files.readString(a.kernel().resolveSibling(GuestImage.DESCRIPTION)),
        Files.readString(b.kernel().resolveSibling(GuestImage.DESCRIPTION)));
    GuestImage loaded = GuestImage.load(a.kernel().getParent());
    assertEquals(a.agentArtifactDigests().size(), loaded.agentArtifactDigests().size());
    for (int i = 0; i < a.agentArtifactDigests().size(); i++) {
      assertArrayEquals(a.agentArtifactDigests().get(i), loaded.agentArtifactDigests().get(i));
    }
  }

  /** What {@code confaas up} does: build once, then reuse while the inputs stay the same. */
  @Test
  void aCachedImageIsReusedWhileItsInputsStayTheSame() throws IOException {
    Path root = TestGuestImages.workDir().resolve("cached");
    GuestImage first = TestGuestImages.builder().buildCached(root);
    java.nio.file.attribute.FileTime built = Files.getLastModifiedTime(first.initrd());
    GuestImage again = TestGuestImages.builder().buildCached(root);
    assertEquals(first.initrd(), again.initrd());
    assertEquals(built, Files.getLastModifiedTime(again.initrd()), "the image was built again");
    assertEquals(hex(first.initrdSha384()), hex(again.initrdSha384()));
    assertTrue(
        !java.util.Arrays.equals(
            TestGuestImages.builder().inputsDigest(),
            TestGuestImages.builder().cmdline(GuestImageBuilder.DEFAULT_CMDLINE + " x").inputsDigest()),
        "another command line is another image");
  }

  @Test
  void theInitramfsHoldsTheGuestAndNothingVaries() throws IOException {
    GuestImage image = TestGuestImages.image();
    Map<String, long[]> entries = new LinkedHashMap<>();
    Map<String, byte[]> small = new LinkedHashMap<>();
    try (InputStream in = open(image.initrd())) {
      readNewc(in, entries, small);
    }
    List<String> names = new ArrayList<>(entries.keySet());
    List<String> sorted = new ArrayList<>(names);
    sorted.sort(null);
    assertEquals(sorted, names, "entries must be in sorted order");
    for (var e : entries.entrySet()) {
      long[] h = e.getValue(); // uid, gid, mtime
      assertEquals(0, h[0] + h[1] + h[2], e.getKey() + " has a uid, gid or mtime other than 0");
    }
    for (String n :
        List.of(
            "init",
            "dev/console",
            "usr/bin/busybox",
            "usr/bin/sh",
            "usr/sbin/poweroff",
            "usr/bin/unshare",
            "usr/bin/prlimit",
            "opt/java/bin/java",
            "opt/java/lib/server/libjvm.so",
            "etc/confaas/class-path",
            "etc/confaas/modules")) {
      assertTrue(entries.containsKey(n), "initramfs lacks " + n);
    }
    String modules = new String(small.get("etc/confaas/modules"), StandardCharsets.UTF_8);
    // The cloud kernel has virtio and fw_cfg as modules: each after what it needs.
    List<String> order = modules.lines().toList();
    assertTrue(order.contains("virtio_net.ko") && order.contains("qemu_fw_cfg.ko"), modules);
    assertTrue(order.indexOf("virtio_ring.ko") < order.indexOf("virtio_net.ko"), modules);
    assertTrue(order.indexOf("virtio_pci.ko") >= 0, modules);
    for (String m : order) {
      assertTrue(entries.containsKey("usr/lib/modules/" + m), "module file missing: " + m);
    }
    String classPath =
        new String(small.get("etc/confaas/class-path"), StandardCharsets.UTF_8).strip();
    assertEquals(
        image.agentArtifactDigests().size(),
        classPath.split(":").length,
        "one measured artifact per class path entry in the guest");
    assertTrue(
        names.stream().noneMatch(n -> n.startsWith("usr/share") || n.startsWith("boot")),
        "nothing but the guest's parts belongs in the initramfs");
  }

  /** The initrd's cpio bytes, gunzipped if it is gzipped. */
  private static InputStream open(Path initrd) throws IOException {
    InputStream in = new java.io.BufferedInputStream(Files.newInputStream(initrd));
    in.mark(2);
    boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
    in.reset();
    return gzip ? new GZIPInputStream(in) : in;
  }

  /** Reads a newc archive: per entry uid, gid, mtime; the bytes of entries under 4 KiB. */
  private static void readNewc(InputStream raw, Map<String, long[]> out, Map<String, byte[]> small)
      throws IOException {
    DataInputStream in = new DataInputStream(raw);
    long offset = 0;
    while (true) {
      byte[] header = new byte[110];
      in.readFully(header);
      offset += 110;
      String h = new String(header, StandardCharsets.US_ASCII);
      assertEquals("070701", h.substring(0, 6), "not a newc header at " + offset);
      long uid = field(h, 2);
      long gid = field(h, 3);
      long mtime = field(h, 5);
      int size = (int) field(h, 6);
      int nameSize = (int) field(h, 11);
      byte[] name = new byte[nameSize];
      in.readFully(name);
      offset += nameSize;
      offset += skipPad(in, offset);
      String n = new String(name, 0, nameSize - 1, StandardCharsets.UTF_8);
      if (n.equals("TRAILER!!!")) {
        return;
      }
      byte[] data = new byte[size];
      in.readFully(data);
      offset += size;
      offset += skipPad(in, offset);
      out.put(n, new long[] {uid, gid, mtime});
      if (size < 4096) {
        small.put(n, data);
      }
    }
  }

  private static long field(String header, int index) {
    return Long.parseLong(header.substring(6 + 8 * index, 14 + 8 * index), 16);
  }

  private static int skipPad(DataInputStream in, long offset) throws IOException {
    int pad = (int) ((4 - offset % 4) % 4);
    in.skipNBytes(pad);
    return pad;
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
