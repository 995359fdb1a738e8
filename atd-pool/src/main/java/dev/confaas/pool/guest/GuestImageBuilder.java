package dev.confaas.pool.guest;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentProgram;
import dev.confaas.vendor.framework.FrameworkLayers;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * Builds the guest image of the {@code qemu} and {@code qemu-tdx} backends from packages, so that
 * the same inputs give the same bytes: a kernel (by default Debian's {@code
 * linux-image-cloud-amd64}, copied unchanged) and an initramfs ({@link Newc}: sorted, owner 0, time
 * 0) holding only
 *
 * <ul>
 *   <li>{@code /init}, a busybox sh script that mounts {@code /proc}, {@code /sys}, {@code /dev},
 *       {@code /tmp}, {@code /run} and cgroup2, loads the kernel modules the guest needs, brings up
 *       virtio-net, and runs the agent as its only child, powering the VM off when it exits;
 *   <li>busybox (Debian {@code busybox-static}) with its applets, and util-linux's {@code unshare}
 *       and {@code prlimit}, which the agent isolates function instances with;
 *   <li>a JRE jlinked from the building JDK ({@link FrameworkLayers#stageJre}, the same code and
 *       cache as the Java framework layer) with the host libraries it links;
 *   <li>the agent: its class path entries ({@link AgentProgram#classPathIn}), copied unchanged, so
 *       that the simulated TDX module in the guest measures the same MRTD as the host expects;
 *   <li>the kernel's modules for virtio-pci, virtio-net, fw_cfg, configfs, overlayfs and, where the
 *       kernel has them, the TDX guest and configfs-tsm drivers.
 * </ul>
 *
 * <p>No CDS archive: JDK 17 writes a different one on every run, which would break the digest.
 */
public final class GuestImageBuilder {
  /** Modules of the agent's JRE (jdeps over its class path, minus what it never loads). */
  public static final List<String> JRE_MODULES =
      List.of(
          "java.base",
          "java.logging",
          "java.management",
          "java.naming",
          "java.net.http",
          "java.sql",
          "jdk.crypto.ec",
          "jdk.unsupported");

  /**
   * Kernel modules the guest loads when the kernel has them as modules (names as in modules.dep,
   * '-' and '_' alike); their dependencies come along.
   */
  public static final List<String> KERNEL_MODULES =
      List.of(
          "virtio_pci",
          "virtio_net",
          "virtio_rng",
          "qemu_fw_cfg",
          "configfs",
          "overlay",
          "tsm",
          "tdx_guest");

  /**
   * The kernel command line: serial console (the TD's log), few messages (each costs time on an
   * emulated UART), and a panic powers off (QEMU runs with {@code -no-reboot}) instead of hanging.
   */
  public static final String DEFAULT_CMDLINE = "console=ttyS0 quiet panic=-1";

  /** The agent's TCP port inside the guest. */
  public static final int AGENT_PORT = 7000;

  /**
   * JVM options of the agent in the guest: as on the process backend (C1 only: under TCG, C2's
   * compilations cost more than they save; one loaded run here, 2 vCPUs: 67 s to serving against
   * 126 s with tiered compilation), a temp dir, and log lines with times, so a TD's console shows
   * where its boot went.
   */
  static final List<String> JAVA_OPTIONS =
      List.of(
          "-Xmx128m",
          "-Xss512k",
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          "-XX:-UsePerfData",
          "-Djava.io.tmpdir=/tmp",
          "-Dorg.slf4j.simpleLogger.showDateTime=true",
          "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");

  private static final Pattern CLOUD_KERNEL = Pattern.compile("vmlinuz-(.+-cloud-amd64)");

  private final List<Path> agentClassPath;
  private final Path cacheDir;
  private Path kernel;
  private Path modulesDir;
  private Path busybox = Path.of("/bin/busybox");
  private Path javaHome = Path.of(System.getProperty("java.home"));
  private String cmdline = DEFAULT_CMDLINE;
  private boolean gzip = false;

  private GuestImageBuilder(List<Path> agentClassPath, Path cacheDir) {
    this.agentClassPath = List.copyOf(agentClassPath);
    this.cacheDir = cacheDir.toAbsolutePath();
    if (this.agentClassPath.isEmpty()) {
      throw new IllegalArgumentException("the agent's class path is empty");
    }
  }

  /**
   * A builder for an image running the agent from {@code agentClassPath} (e.g. {@link
   * #agentClassPathOfThisJvm()}), caching the jlinked JRE in {@code cacheDir}.
   */
  public static GuestImageBuilder forAgent(List<Path> agentClassPath, Path cacheDir) {
    return new GuestImageBuilder(agentClassPath, cacheDir);
  }

  /** The agent's class path cut out of this JVM's; fails if the agent is not on it. */
  public static List<Path> agentClassPathOfThisJvm() {
    return AgentProgram.classPathIn(
            AgentArtifacts.parseClassPath(System.getProperty("java.class.path")))
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "the agent (confaas-function-runtime, "
                        + AgentProgram.CLASS_PATH_LISTING
                        + ") is not on this JVM's class path; run from the confaas distribution"));
  }

  /** The kernel to copy; default: the newest {@code /boot/vmlinuz-*-cloud-amd64}. */
  public GuestImageBuilder kernel(Path v) {
    this.kernel = v.toAbsolutePath();
    return this;
  }

  /**
   * Where the kernel's modules are ({@code /lib/modules/RELEASE}); default: found from the release
   * in the kernel's header. A kernel with everything built in needs none.
   */
  public GuestImageBuilder modules(Path v) {
    this.modulesDir = v.toAbsolutePath();
    return this;
  }

  public GuestImageBuilder busybox(Path v) {
    this.busybox = v.toAbsolutePath();
    return this;
  }

  public GuestImageBuilder javaHome(Path v) {
    this.javaHome = v.toAbsolutePath();
    return this;
  }

  public GuestImageBuilder cmdline(String v) {
    this.cmdline = Objects.requireNonNull(v).strip();
    return this;
  }

  /**
   * Gzip the initramfs; default off: the jars and the JRE's modules file are compressed already (92
   * MB become 66), and under TCG the kernel takes ~9 s longer to unpack the gzip than to copy.
   */
  public GuestImageBuilder gzip(boolean v) {
    this.gzip = v;
    return this;
  }

  /**
   * Builds the image into {@code outDir} ({@value GuestImage#KERNEL}, {@value GuestImage#INITRD},
   * {@value GuestImage#DESCRIPTION}), replacing what is there.
   */
  public GuestImage build(Path outDir) throws IOException {
    Path kernelFile = kernel != null ? kernel : debianCloudKernel();
    if (!Files.isRegularFile(kernelFile)) {
      throw new IOException(
          "kernel " + kernelFile + " does not exist; install linux-image-cloud-amd64 or name one");
    }
    Path modules = modulesDir;
    if (modules == null) {
      Optional<String> release = kernelRelease(kernelFile);
      Path guess = release.map(r -> Path.of("/lib/modules", r)).orElse(null);
      modules = guess != null && Files.isDirectory(guess) ? guess : null;
    }
    Files.createDirectories(outDir);
    Path stage = Files.createTempDirectory(outDir, ".stage-");
    try {
      List<Path> guestClassPath = stageRoot(stage, modules);
      Path initrdPart = outDir.resolve(GuestImage.INITRD + ".part");
      try (OutputStream file =
              new BufferedOutputStream(Files.newOutputStream(initrdPart), 1 << 16);
          OutputStream out = gzip ? new GZIPOutputStream(file, 1 << 16) : file) {
        Newc.write(stage, out);
      }
      Files.move(
          initrdPart, outDir.resolve(GuestImage.INITRD), StandardCopyOption.REPLACE_EXISTING);
      Path kernelPart = outDir.resolve(GuestImage.KERNEL + ".part");
      Files.copy(kernelFile, kernelPart, StandardCopyOption.REPLACE_EXISTING);
      Files.move(
          kernelPart, outDir.resolve(GuestImage.KERNEL), StandardCopyOption.REPLACE_EXISTING);
      List<byte[]> digests = List.of(AgentArtifacts.digests(guestClassPath));
      GuestImage image =
          new GuestImage(
              outDir.resolve(GuestImage.KERNEL),
              outDir.resolve(GuestImage.INITRD),
              cmdline,
              AGENT_PORT,
              digests);
      image.save();
      return image;
    } finally {
      deleteTree(stage);
    }
  }

  /**
   * The image these inputs make, from {@code root/<digest of the inputs>} when it was built there
   * before, else built there now. Older images in {@code root} are deleted: an owner keeps one
   * cache per data directory, so only its current image is of use.
   *
   * @see #inputsDigest()
   */
  public GuestImage buildCached(Path root) throws IOException {
    String key = HexFormat.of().formatHex(inputsDigest()).substring(0, 32);
    Path dir = root.resolve(key);
    if (Files.isRegularFile(dir.resolve(GuestImage.DESCRIPTION))) {
      try {
        GuestImage cached = GuestImage.load(dir);
        if (Files.isRegularFile(cached.kernel()) && Files.isRegularFile(cached.initrd())) {
          return cached;
        }
      } catch (IllegalArgumentException | UncheckedIOException damaged) {
        // built by an older release or cut short: build it again
      }
    }
    Files.createDirectories(root);
    Path tmp = root.resolve(".build-" + key + "-" + ProcessHandle.current().pid());
    deleteTree(tmp);
    build(tmp);
    deleteTree(dir);
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path other : ds) {
        if (!other.equals(dir) && other.getFileName().toString().matches("[0-9a-f]{32}")) {
          deleteTree(other);
        }
      }
    }
    return GuestImage.load(dir);
  }

  /**
   * SHA-384 over everything the image is made of that this builder reads itself: the agent's class
   * path entries, the kernel and its module directory's name, busybox, unshare and prlimit, the
   * init script, the command line and options, the JRE's modules and the building JDK's release
   * file. Equal inputs, equal digest; the libraries the JRE links are taken from the host as they
   * are (a changed libc is not seen here).
   */
  public byte[] inputsDigest() throws IOException {
    java.security.MessageDigest md = GuestDigests.sha384();
    java.util.function.Consumer<String> text =
        t -> md.update((t + "\n").getBytes(StandardCharsets.UTF_8));
    text.accept("confaas-guest-image-v1");
    for (byte[] d : AgentArtifacts.digests(agentClassPath)) {
      md.update(d);
    }
    Path kernelFile = kernel != null ? kernel : debianCloudKernel();
    md.update(GuestDigests.sha384(kernelFile));
    text.accept(String.valueOf(modulesDir));
    for (Path binary : List.of(busybox, Path.of("/usr/bin/unshare"), Path.of("/usr/bin/prlimit"))) {
      md.update(Files.isRegularFile(binary) ? GuestDigests.sha384(binary) : new byte[0]);
    }
    try (InputStream in = GuestImageBuilder.class.getResourceAsStream("init")) {
      if (in != null) {
        md.update(in.readAllBytes());
      }
    }
    text.accept(cmdline);
    text.accept(Boolean.toString(gzip));
    text.accept(String.join(",", JRE_MODULES));
    text.accept(String.join(" ", JAVA_OPTIONS));
    text.accept(String.join(",", KERNEL_MODULES));
    Path release = javaHome.resolve("release");
    text.accept(Files.isRegularFile(release) ? Files.readString(release) : javaHome.toString());
    return md.digest();
  }

  /** Stages the initramfs root; returns the agent's class path as staged (host paths). */
  private List<Path> stageRoot(Path stage, Path modules) throws IOException {
    // Usr-merged like Debian, so the host's libraries land where their symlinks say.
    for (String d : List.of("usr/bin", "usr/sbin", "usr/lib", "usr/lib64")) {
      Files.createDirectories(stage.resolve(d));
    }
    for (String l : List.of("bin", "sbin", "lib", "lib64")) {
      Files.createSymbolicLink(stage.resolve(l), Path.of("usr/" + l));
    }
    FrameworkLayers jre = FrameworkLayers.of(busybox, javaHome, cacheDir);
    jre.stageJre(JRE_MODULES, stage, "opt/java");
    FrameworkLayers.stageHostBinary(Path.of("/usr/bin/unshare"), stage);
    FrameworkLayers.stageHostBinary(Path.of("/usr/bin/prlimit"), stage);
    stageBusybox(stage);
    for (String d :
        List.of("dev", "proc", "sys", "tmp", "run", "root", "var/lib/confaas", "etc/confaas")) {
      Files.createDirectories(stage.resolve(d));
    }
    write(
        stage.resolve("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write(stage.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    try (InputStream in = GuestImageBuilder.class.getResourceAsStream("init")) {
      if (in == null) {
        throw new IOException("resource dev/confaas/pool/guest/init is missing; rebuild atd-pool");
      }
      Files.write(stage.resolve("init"), in.readAllBytes());
    }
    executable(stage.resolve("init"));

    List<Path> guestClassPath = new ArrayList<>();
    List<String> inGuest = new ArrayList<>();
    Path agentDir = Files.createDirectories(stage.resolve("opt/confaas/agent"));
    int i = 0;
    for (Path entry : agentClassPath) {
      String name = String.format(Locale.ROOT, "%02d-%s", i++, entry.getFileName());
      Path dst = agentDir.resolve(name);
      if (Files.isDirectory(entry)) {
        copyTree(entry, dst);
      } else if (Files.isRegularFile(entry)) {
        Files.copy(entry, dst);
      } else {
        throw new IOException(
            "agent class path entry " + entry + " does not exist; build it first");
      }
      guestClassPath.add(dst);
      inGuest.add("/opt/confaas/agent/" + name);
    }
    write(stage.resolve("etc/confaas/class-path"), String.join(":", inGuest) + "\n");
    write(stage.resolve("etc/confaas/main-class"), AgentProgram.MAIN_CLASS + "\n");
    write(stage.resolve("etc/confaas/java-options"), String.join("\n", JAVA_OPTIONS) + "\n");
    write(stage.resolve("etc/confaas/agent-port"), AGENT_PORT + "\n");
    write(
        stage.resolve("etc/confaas/modules"),
        String.join("\n", stageModules(stage, modules)) + "\n");
    return guestClassPath;
  }

  private void stageBusybox(Path stage) throws IOException {
    if (!Files.isRegularFile(busybox) || !Files.isExecutable(busybox)) {
      throw new IOException(
          "busybox " + busybox + " is missing; install the Debian package busybox-static");
    }
    Files.copy(busybox, stage.resolve("usr/bin/busybox"));
    executable(stage.resolve("usr/bin/busybox"));
    String out = run(List.of(busybox.toString(), "--list-full"));
    TreeSet<String> applets = new TreeSet<>();
    for (String line : out.split("\n")) {
      String a = line.strip();
      if (a.contains("/") && !a.startsWith("/") && !a.contains("..")) {
        applets.add(a.startsWith("usr/") ? a : "usr/" + a);
      }
    }
    for (String a : applets) {
      Path link = stage.resolve(a);
      // util-linux's unshare and prlimit are staged already: the agent needs their options.
      if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, Path.of("/usr/bin/busybox"));
      }
    }
  }

  /**
   * Copies {@link #KERNEL_MODULES} and their dependencies from {@code modules} to {@code
   * /lib/modules}; returns their file names in load order (dependencies first).
   */
  private static List<String> stageModules(Path stage, Path modules) throws IOException {
    if (modules == null) {
      return List.of();
    }
    Path depFile = modules.resolve("modules.dep");
    if (!Files.isRegularFile(depFile)) {
      throw new IOException(
          modules
              + " has no modules.dep; name the kernel's module directory (/lib/modules/RELEASE)");
    }
    Map<String, String> pathOf = new HashMap<>();
    Map<String, List<String>> depsOf = new HashMap<>();
    for (String line : Files.readAllLines(depFile, StandardCharsets.UTF_8)) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String path = line.substring(0, colon);
      String name = moduleName(path);
      pathOf.put(name, path);
      List<String> deps = new ArrayList<>();
      for (String d : line.substring(colon + 1).trim().split("\\s+")) {
        if (!d.isEmpty()) {
          deps.add(moduleName(d));
        }
      }
      depsOf.put(name, deps);
    }
    LinkedHashSet<String> order = new LinkedHashSet<>();
    for (String m : KERNEL_MODULES) {
      if (pathOf.containsKey(m)) {
        addWithDeps(m, depsOf, order, 0);
      }
    }
    Path dir = Files.createDirectories(stage.resolve("usr/lib/modules"));
    List<String> files = new ArrayList<>();
    for (String m : order) {
      String rel = pathOf.get(m);
      if (!rel.endsWith(".ko")) {
        throw new IOException(
            "kernel module "
                + modules.resolve(rel)
                + " is compressed; busybox insmod loads only"
                + " uncompressed .ko files: use a kernel package with uncompressed modules");
      }
      String file = m + ".ko";
      Files.copy(modules.resolve(rel), dir.resolve(file));
      files.add(file);
    }
    return files;
  }

  private static void addWithDeps(
      String m, Map<String, List<String>> depsOf, Set<String> order, int depth) throws IOException {
    if (depth > 64) {
      throw new IOException("kernel module dependencies of " + m + " form a cycle");
    }
    // modules.dep lists every (transitive) dependency; each is loaded after its own.
    for (String d : depsOf.getOrDefault(m, List.of())) {
      if (!order.contains(d)) {
        addWithDeps(d, depsOf, order, depth + 1);
      }
    }
    order.add(m);
  }

  static String moduleName(String path) {
    String f = path.substring(path.lastIndexOf('/') + 1);
    int ko = f.indexOf(".ko");
    return (ko < 0 ? f : f.substring(0, ko)).replace('-', '_');
  }

  /**
   * The newest {@code /boot/vmlinuz-*-cloud-amd64}, the kernel of Debian's linux-image-cloud-amd64.
   */
  public static Path debianCloudKernel() throws IOException {
    List<Path> found = new ArrayList<>();
    Path boot = Path.of("/boot");
    if (Files.isDirectory(boot)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(boot, "vmlinuz-*-cloud-amd64")) {
        s.forEach(found::add);
      }
    }
    if (found.isEmpty()) {
      throw new IOException(
          "no /boot/vmlinuz-*-cloud-amd64: install the Debian package linux-image-cloud-amd64"
              + " (bin/ensure-debian-packages --tests does) or name a kernel with --kernel");
    }
    found.sort(Comparator.comparing(p -> versionKey(p.getFileName().toString())));
    return found.get(found.size() - 1);
  }

  /** Zero-pads the numbers in a name, so that 6.1.0-10 sorts after 6.1.0-9. */
  private static String versionKey(String name) {
    Matcher m = Pattern.compile("\\d+").matcher(name);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(b, String.format(Locale.ROOT, "%010d", Long.parseLong(m.group())));
    }
    m.appendTail(b);
    return b.toString();
  }

  /**
   * The release a bzImage was built as ({@code uname -r} in the guest), from its setup header's
   * kernel_version string (boot protocol 2.00+), or the file name {@code vmlinuz-RELEASE}.
   */
  public static Optional<String> kernelRelease(Path kernel) throws IOException {
    byte[] head;
    try (InputStream in = Files.newInputStream(kernel)) {
      head = in.readNBytes(64 * 1024);
    }
    if (head.length > 0x210
        && head[0x202] == 'H'
        && head[0x203] == 'd'
        && head[0x204] == 'r'
        && head[0x205] == 'S') {
      int ptr = (head[0x20e] & 0xff) | (head[0x20f] & 0xff) << 8;
      int at = ptr + 0x200;
      if (ptr != 0 && at < head.length) {
        int end = at;
        while (end < head.length && head[end] != 0 && head[end] != ' ') {
          end++;
        }
        if (end > at) {
          return Optional.of(new String(head, at, end - at, StandardCharsets.US_ASCII));
        }
      }
    }
    Matcher m = Pattern.compile("vmlinuz-(.+)").matcher(kernel.getFileName().toString());
    return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }

  private static void write(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
  }

  private static void executable(Path file) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path f : (Iterable<Path>) s.sorted()::iterator) {
        Path d = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(d);
        } else {
          Files.copy(f, d);
        }
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(f);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static String run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    try {
      if (!p.waitFor(1, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(
            String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + cmd.get(0), e);
    }
    return new String(out, StandardCharsets.UTF_8);
  }
}
