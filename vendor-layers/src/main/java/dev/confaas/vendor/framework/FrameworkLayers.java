package dev.confaas.vendor.framework;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.HashAlgorithm;
import dev.confaas.image.ImageId;
import dev.confaas.image.ImageSigner;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.lambda.Bootstrap;
import dev.confaas.vendor.VendorLayerRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Builds the vendor framework layers as reproducible layer tars ({@link LayerTar}: same inputs, same
 * bytes, same {@code sha384/...} digest) and publishes them into a {@link VendorLayerRegistry}.
 *
 * <p>Inputs, found on this machine: busybox from the Debian package {@code busybox-static} ({@code
 * /bin/busybox}); bash and curl from the Debian packages {@code bash} and {@code curl}; the JDK 17
 * that jlinks the JRE ({@code java.home}, which must have {@code jmods/}); the shared libraries
 * their binaries link, from the host's Debian packages (found with {@code ldd}); the bootstraps
 * ({@code vendor-layers/frameworks/{shell,java-aws,provided}/bootstrap}, resources); the {@code
 * confaas-java-runtime} classes (a dependency, repacked into a reproducible jar); and AWS's Lambda
 * Java runtime interface client with its dependencies (jars from Maven Central, resources under
 * {@code aws-lambda-java/}). The jlinked JRE is cached in {@code cacheDir} by the digest of what
 * jlink reads, since linking takes a minute on a busy machine.
 *
 * <p>Every layer is a complete root file system for its processes: the agent chroots a function
 * instance into the merged layers (this one below, the function's above).
 */
public final class FrameworkLayers {
  /**
   * Modules in the Java layer's JRE: what ordinary Java libraries expect of a Lambda Java runtime
   * (AWS's is a full JDK). All of Java SE ({@code java.se}: java.sql, java.xml, java.desktop for
   * java.beans and ImageIO, java.management, java.naming, java.instrument, java.scripting,
   * java.security.jgss, ...), {@code jdk.unsupported} (sun.misc.Unsafe: AWS's client, Netty, Gson),
   * the security providers a JDK registers ({@code jdk.crypto.ec}, {@code jdk.crypto.cryptoki}),
   * locale data and extra charsets (without them, formatting for a non-English locale silently
   * falls back to English), and the small JDK APIs libraries reach for: zip file systems,
   * com.sun.management, socket options, JNDI DNS, JAAS/Kerberos, JFR, the built-in HTTP server,
   * the random generators {@code RandomGenerator.getDefault()} needs, dynalink and the DOM
   * extensions. Left out: tools (compiler, jshell, jlink), debugging and attach agents, GUI.
   */
  public static final List<String> JAVA_MODULES =
      List.of("java.se", "jdk.unsupported", "jdk.crypto.ec", "jdk.crypto.cryptoki",
          "jdk.localedata", "jdk.charsets", "jdk.zipfs", "jdk.management", "jdk.net",
          "jdk.naming.dns", "jdk.security.auth", "jdk.security.jgss", "jdk.jfr",
          "jdk.management.jfr", "jdk.httpserver", "jdk.random", "jdk.dynalink", "jdk.xml.dom");

  /**
   * jlink options. No {@code --generate-cds-archive}: JDK 17 writes a different CDS archive on
   * every run, which would break reproducibility. java.desktop stays headless (a function has no
   * display): its X11, splash screen, sound and font-rendering libraries would pull X11, ALSA,
   * freetype and harfbuzz into the layer. AWS's Java runtimes lack freetype too.
   */
  static final List<String> JLINK_OPTIONS =
      List.of("--strip-debug", "--no-header-files", "--no-man-pages", "--compress=2",
          "--exclude-files=regex:.*/lib(awt_xawt|jawt|splashscreen|jsound|fontmanager)\\.so");

  /**
   * Libraries the Java layer carries beyond what its ELF files link, for JNI libraries that
   * functions bring (as AWS's client extracts its own to /tmp): the rest of the C and C++
   * run-time family of the host's glibc, libgcc, libstdc++ and zlib.
   */
  static final List<String> JNI_HOST_LIBRARIES =
      List.of("libc.so.6", "libm.so.6", "librt.so.1", "libpthread.so.0", "libdl.so.2",
          "libgcc_s.so.1", "libstdc++.so.6", "libz.so.1");

  /** Where the java-aws runtime's jars (AWS's runtime interface client) live in the Java layer. */
  public static final String AWS_RUNTIME_LIB = "/var/runtime/lib";

  /** Where the runtime client jar lives in the Java layer. */
  public static final String JAVA_RUNTIME_JAR = "/opt/confaas/java-runtime.jar";

  /**
   * A framework runtime: the alias name of its layer and the entrypoint a function uses with it.
   * Two runtimes may share a layer ({@link #JAVA} and {@link #JAVA_AWS} both run on {@code
   * confaas-java17}), so a TD holding functions of both loads one JRE.
   */
  public enum Runtime {
    /** busybox sh; the handler is an executable reading the event on stdin. */
    SHELL("confaas-shell", "shell", List.of("/var/runtime/bootstrap")),
    /** The {@code dev.confaas.lambda} runtime client; the handler is a {@code Handler} class. */
    JAVA(
        "confaas-java17",
        "java",
        List.of(
            "/opt/java/bin/java",
            "-XX:+UseSerialGC",
            "-Xshare:auto",
            "-cp",
            JAVA_RUNTIME_JAR,
            "dev.confaas.lambda.Bootstrap")),
    /**
     * AWS's Lambda Java runtime interface client on the same JRE; the handler is an AWS one ({@code
     * pkg.Class::method}, {@code RequestHandler}, {@code RequestStreamHandler}).
     */
    JAVA_AWS("confaas-java17", "java-aws", List.of("/var/runtime/bootstrap")),
    /**
     * As AWS's {@code provided.al2023}: bash, curl and the usual tools; the function brings its
     * own runtime as an executable {@code bootstrap} in its task root.
     */
    PROVIDED("confaas-provided", "provided", List.of("/var/runtime/bootstrap"));

    private final String aliasName;
    private final String catalogName;
    private final List<String> entrypoint;

    Runtime(String aliasName, String catalogName, List<String> entrypoint) {
      this.aliasName = aliasName;
      this.catalogName = catalogName;
      this.entrypoint = entrypoint;
    }

    /** The name {@code confaas deploy --runtime} takes: shell, java, java-aws or provided. */
    public String catalogName() {
      return catalogName;
    }

    /** The NAME of the layer's {@code NAME:SVN} alias, e.g. {@code confaas-shell}. */
    public String aliasName() {
      return aliasName;
    }

    /** The manifest {@code entrypoint} of a function on this runtime. */
    public List<String> entrypoint() {
      return entrypoint;
    }

    /**
     * {@code AWS_EXECUTION_ENV} as Lambda sets it for the matching AWS runtime ({@code
     * AWS_Lambda_java17} for both Java runtimes), or empty where Lambda leaves it unset (OS-only
     * runtimes: {@code provided}, and {@code shell}, which has no AWS counterpart). Function images
     * carry it as a manifest env default, since the agent leaves it to the image.
     */
    public Optional<String> executionEnv() {
      return this == JAVA || this == JAVA_AWS
          ? Optional.of("AWS_Lambda_java17")
          : Optional.empty();
    }

    /** The layer tar's file name in a build's target directory. */
    public String fileName() {
      return aliasName + ".tar";
    }

    /** A {@link #catalogName()} (or the constant's name), as {@code confaas deploy --runtime} takes it. */
    public static Runtime parse(String s) {
      for (Runtime r : values()) {
        if (r.catalogName.equalsIgnoreCase(s.trim()) || r.name().equalsIgnoreCase(s.trim())) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "unknown runtime \"" + s + "\"; use one of shell, java, java-aws, provided");
    }
  }

  /** A built layer tar. */
  public record BuiltLayer(Runtime runtime, Path tar, Digest digest, long sizeBytes) {}

  /** A published layer: its digest, the vendor manifest that aliases it, and the alias. */
  public record PublishedLayer(Runtime runtime, Digest digest, ImageId vendorImage, AliasRef alias) {}

  private final Path busybox;
  private final Path javaHome;
  private final Path cacheDir;
  private final Path bash = Path.of("/bin/bash");
  private final Path curl = Path.of("/usr/bin/curl");

  private FrameworkLayers(Path busybox, Path javaHome, Path cacheDir) {
    this.busybox = busybox;
    this.javaHome = javaHome;
    this.cacheDir = cacheDir;
  }

  /**
   * Builds from {@code /bin/busybox} and the running JDK ({@code java.home}), caching the jlinked
   * JRE under {@code cacheDir}.
   */
  public static FrameworkLayers onThisHost(Path cacheDir) {
    return of(Path.of("/bin/busybox"), Path.of(System.getProperty("java.home")), cacheDir);
  }

  /** Builds from the given busybox binary and JDK home, caching the jlinked JRE in {@code cacheDir}. */
  public static FrameworkLayers of(Path busybox, Path javaHome, Path cacheDir) {
    return new FrameworkLayers(busybox.toAbsolutePath(), javaHome.toAbsolutePath(),
        cacheDir.toAbsolutePath());
  }

  /** Builds {@code runtime}'s layer into {@code targetDir}/{@link Runtime#fileName()}. */
  public BuiltLayer build(Runtime runtime, Path targetDir) throws IOException {
    Files.createDirectories(targetDir);
    Path stage = Files.createTempDirectory(targetDir, ".stage-" + runtime.aliasName() + "-");
    try {
      switch (runtime) {
        case SHELL -> stageShell(stage);
        case JAVA, JAVA_AWS -> stageJava(stage, targetDir);
        case PROVIDED -> stageProvided(stage);
        default -> throw new AssertionError(runtime);
      }
      Path tar = targetDir.resolve(runtime.fileName());
      Path part = targetDir.resolve(runtime.fileName() + ".part");
      Digest digest = LayerTar.write(stage, "", part);
      Files.move(part, tar, StandardCopyOption.REPLACE_EXISTING);
      return new BuiltLayer(runtime, tar, digest, Files.size(tar));
    } finally {
      deleteTree(stage);
    }
  }

  /**
   * Builds every runtime's layer into {@code workDir} (a layer two runtimes share, once), then
   * {@linkplain #publish(VendorLayerRegistry, ImageSigner, int, List) publishes} them. Returns the
   * alias references functions put in their manifests' {@code layers}, one per {@link Runtime}.
   */
  public List<PublishedLayer> publish(
      VendorLayerRegistry registry, ImageSigner vendor, int svn, Path workDir)
      throws IOException, ImageVerificationException {
    List<BuiltLayer> built = new ArrayList<>();
    Map<String, BuiltLayer> byAlias = new HashMap<>();
    for (Runtime r : Runtime.values()) {
      BuiltLayer shared = byAlias.get(r.aliasName());
      BuiltLayer b = shared != null
          ? new BuiltLayer(r, shared.tar(), shared.digest(), shared.sizeBytes())
          : build(r, workDir);
      byAlias.putIfAbsent(r.aliasName(), b);
      built.add(b);
    }
    return publish(registry, vendor, svn, built);
  }

  /**
   * Adds each built layer to {@code registry} and publishes a vendor manifest signed by {@code
   * vendor} that aliases it as {@code NAME:svn} (one manifest per layer, as {@code confaas vendor
   * publish} does).
   */
  public static List<PublishedLayer> publish(
      VendorLayerRegistry registry, ImageSigner vendor, int svn, List<BuiltLayer> layers)
      throws IOException, ImageVerificationException {
    List<PublishedLayer> out = new ArrayList<>();
    Map<String, PublishedLayer> byAlias = new HashMap<>();
    for (BuiltLayer built : layers) {
      PublishedLayer shared = byAlias.get(built.runtime().aliasName());
      if (shared != null) { // a layer two runtimes share is published once
        if (!shared.digest().equals(built.digest())) {
          throw new IOException(built.runtime() + " and " + shared.runtime() + " share the layer "
              + built.runtime().aliasName() + " but were built as " + built.digest() + " and "
              + shared.digest() + "; build them from the same inputs");
        }
        out.add(new PublishedLayer(
            built.runtime(), shared.digest(), shared.vendorImage(), shared.alias()));
        continue;
      }
      Digest digest = registry.addLayer(built.tar());
      if (!digest.equals(built.digest())) {
        throw new IOException("registry stored " + built.tar() + " as " + digest
            + " but it was built as " + built.digest() + "; the file changed since it was built,"
            + " build it again");
      }
      NameSvn alias = NameSvn.parse(built.runtime().aliasName() + ":" + svn);
      SignedManifest signed =
          vendor.signed(Manifest.builder().addLayer(digest).contentAlias(digest, alias).build());
      VendorLayerRegistry.Publication p = registry.publish(signed);
      PublishedLayer published = new PublishedLayer(
          built.runtime(), digest, p.imageId(), AliasRef.of(vendor.signerId(), alias));
      byAlias.put(built.runtime().aliasName(), published);
      out.add(published);
    }
    return out;
  }

  // --- shell layer -----------------------------------------------------------------------------

  private void stageShell(Path stage) throws IOException {
    stageBusybox(stage);
    writeResource("shell/bootstrap", dir(stage, "var/runtime").resolve("bootstrap"), 0755);
    dir(stage, "var/task");
    baseFiles(stage);
  }

  /** /bin/busybox and a link per applet, except where {@code stage} already has that path. */
  private void stageBusybox(Path stage) throws IOException {
    if (!Files.isRegularFile(busybox) || !Files.isExecutable(busybox)) {
      throw new IOException("busybox " + busybox + " is missing or not executable; install the"
          + " Debian package busybox-static (apt-get install -y busybox-static)");
    }
    Path bin = dir(stage, "bin");
    copyFile(busybox, bin.resolve("busybox"), 0755);
    for (String applet : applets()) {
      Path link = stage.resolve(applet);
      if (Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      dir(stage, stage.relativize(link.getParent()).toString());
      Path target = link.getParent().relativize(bin.resolve("busybox"));
      Files.createSymbolicLink(link, target);
    }
  }

  /** Applet paths relative to the root ({@code bin/sh}, {@code usr/bin/wget}, ...). */
  private List<String> applets() throws IOException {
    String out = run(List.of(busybox.toString(), "--list-full"), "list busybox applets");
    TreeSet<String> applets = new TreeSet<>();
    for (String line : out.split("\n")) {
      String a = line.trim();
      // Applets at the root (linuxrc) are an initramfs convenience, not a function's business.
      if (a.contains("/") && !a.startsWith("/") && !a.contains("..")) {
        applets.add(a);
      }
    }
    if (!applets.contains("bin/sh")) {
      throw new IOException(busybox + " --list-full has no bin/sh; it is not a usable busybox");
    }
    return List.copyOf(applets);
  }

  // --- java layer ------------------------------------------------------------------------------

  private void stageJava(Path stage, Path targetDir) throws IOException {
    StagedJre jre = stageJreAndLibraries(JAVA_MODULES, stage, "opt/java");
    Path confaas = dir(stage, "opt/confaas");
    writeFile(confaas.resolve("java-runtime.jar"), runtimeJar(), 0644);
    // java-aws: AWS's client, its bootstrap, and a shell to run that (AWS's Java runtimes have one).
    writeResource("java-aws/bootstrap", dir(stage, "var/runtime").resolve("bootstrap"), 0755);
    Path awsLib = dir(stage, AWS_RUNTIME_LIB.substring(1));
    byte[] ric = null;
    for (String jar : awsLambdaJars()) {
      byte[] bytes;
      try (InputStream in = resource(jar)) {
        bytes = in.readAllBytes();
      }
      String name = jar.substring(jar.lastIndexOf('/') + 1);
      writeFile(awsLib.resolve(name), bytes, 0644);
      if (name.startsWith("aws-lambda-java-runtime-interface-client-")) {
        ric = bytes;
      }
    }
    if (ric == null) {
      throw new IOException("aws-lambda-java/classpath.txt names no"
          + " aws-lambda-java-runtime-interface-client jar; rebuild confaas-vendor-layers");
    }
    stageBusybox(stage);
    // AWS's client extracts its JNI library to /tmp and loads it: what it links must be here.
    TreeSet<Path> libs = new TreeSet<>(jre.libraries());
    Path jni = Files.createTempFile(targetDir, ".aws-lambda-jni-", ".so");
    try {
      Files.write(jni, jniLibrary(ric));
      libs.addAll(sharedLibraries(jni, stage, jre.own()));
    } finally {
      Files.deleteIfExists(jni);
    }
    libs.addAll(hostLibraries(libs, JNI_HOST_LIBRARIES, stage, jre.own()));
    for (Path lib : libs) {
      includeHostPath(lib, stage);
    }
    dir(stage, "var/task");
    baseFiles(stage);
  }

  /**
   * Puts a JRE of {@code modules}, jlinked from this builder's JDK (cached like the Java layer's),
   * at {@code stage/dest}, with the host's shared libraries its ELF files need at the paths the
   * loader uses. Also how the guest image of the {@code qemu} backends gets its JRE.
   */
  public void stageJre(List<String> modules, Path stage, String dest) throws IOException {
    stageJreAndLibraries(modules, stage, dest);
  }

  /** A staged JRE: the file names of its own ELF files, and the host libraries they link. */
  private record StagedJre(Set<String> own, Set<Path> libraries) {}

  private StagedJre stageJreAndLibraries(List<String> modules, Path stage, String dest)
      throws IOException {
    Path jre = jlinked(modules);
    Path java = dir(stage, dest);
    copyTree(jre, java);
    // Shared libraries of every ELF file in the JRE, from the host, at the paths the loader uses.
    List<Path> elves = new ArrayList<>();
    Set<String> own = new TreeSet<>(); // loaded by the JVM from its own directories
    try (Stream<Path> s = Files.walk(java)) {
      for (Path f : (Iterable<Path>) s.sorted()::iterator) {
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && isElf(f)) {
          elves.add(f);
          own.add(f.getFileName().toString());
        }
      }
    }
    TreeSet<Path> libs = new TreeSet<>();
    for (Path f : elves) {
      libs.addAll(sharedLibraries(f, stage, own));
    }
    for (Path lib : libs) {
      includeHostPath(lib, stage);
    }
    return new StagedJre(own, libs);
  }

  /**
   * Puts the host binary {@code binary} (an absolute path) into {@code stage} at the same path,
   * with the shared libraries it needs, e.g. util-linux's {@code unshare} for the guest image.
   */
  public static void stageHostBinary(Path binary, Path stage) throws IOException {
    if (!Files.isRegularFile(binary) || !Files.isExecutable(binary)) {
      throw new IOException(binary + " is missing or not executable; install the Debian package"
          + " that provides it");
    }
    includeHostPath(binary, stage);
    for (Path lib : new TreeSet<>(sharedLibraries(binary, stage, Set.of()))) {
      includeHostPath(lib, stage);
    }
  }

  /** Resource names of the java-aws jars ({@code aws-lambda-java/NAME.jar}), in class path order. */
  private static List<String> awsLambdaJars() throws IOException {
    String list;
    try (InputStream in = resource("aws-lambda-java/classpath.txt")) {
      list = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
    List<String> jars = new ArrayList<>();
    for (String entry : list.split(":")) {
      if (!entry.isEmpty()) {
        jars.add(entry);
      }
    }
    return jars;
  }

  /**
   * File names of the jars the {@code java-aws} runtime has in {@link #AWS_RUNTIME_LIB}, e.g.
   * {@code aws-lambda-java-core-1.4.0.jar}: the versions of AWS's API a handler compiles against.
   */
  public static List<String> awsRuntimeJarNames() throws IOException {
    List<String> names = new ArrayList<>();
    for (String jar : awsLambdaJars()) {
      names.add(jar.substring(jar.lastIndexOf('/') + 1));
    }
    return names;
  }

  /** The JNI library for this machine's architecture from AWS's client jar. */
  private static byte[] jniLibrary(byte[] ricJar) throws IOException {
    String arch = System.getProperty("os.arch");
    String name = "jni/libaws-lambda-jni.linux-"
        + (arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : "aarch_64") + ".so";
    try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(ricJar))) {
      for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
        if (e.getName().equals(name)) {
          return in.readAllBytes();
        }
      }
    }
    throw new IOException("AWS's runtime interface client jar has no " + name + " for os.arch "
        + arch + "; the java-aws runtime is built for x86_64 and aarch64 Linux only");
  }

  /**
   * The host paths of {@code names}, looked up in the directory the C library came from (the
   * host's multiarch directory), with what they link in turn.
   */
  private static List<Path> hostLibraries(Set<Path> linked, List<String> names, Path stage,
      Set<String> own) throws IOException {
    Path libc = linked.stream().filter(p -> p.getFileName().toString().equals("libc.so.6"))
        .findFirst().orElseThrow(() -> new IOException("no libc.so.6 among the libraries the"
            + " layer's binaries link; ldd found " + linked));
    List<Path> out = new ArrayList<>();
    for (String name : names) {
      Path p = libc.resolveSibling(name);
      if (!Files.exists(p)) {
        throw new IOException(p + " is missing; install the Debian package that provides " + name
            + " (libc6, libgcc-s1, libstdc++6 or zlib1g)");
      }
      out.add(p);
      out.addAll(sharedLibraries(p, stage, own));
    }
    return out;
  }

  // --- provided layer --------------------------------------------------------------------------

  /**
   * bash (also as /bin/sh, as on Amazon Linux), curl and busybox for the other tools, with their
   * libraries and the CA certificates curl uses for https, plus the bootstrap that starts the
   * function's own.
   */
  private void stageProvided(Path stage) throws IOException {
    for (Path tool : List.of(bash, curl)) {
      if (!Files.isRegularFile(tool) || !Files.isExecutable(tool)) {
        throw new IOException(tool + " is missing or not executable; install the Debian packages"
            + " bash and curl (bin/ensure-debian-packages does)");
      }
    }
    Path bin = dir(stage, "bin");
    copyFile(bash.toRealPath(), bin.resolve("bash"), 0755);
    Files.createSymbolicLink(bin.resolve("sh"), Path.of("bash"));
    copyFile(curl.toRealPath(), dir(stage, "usr/bin").resolve("curl"), 0755);
    stageBusybox(stage); // every other applet; bin/sh and the rest already there stay
    TreeSet<Path> libs = new TreeSet<>();
    for (Path tool : List.of(bash, curl)) {
      libs.addAll(sharedLibraries(tool.toRealPath(), stage, Set.of()));
    }
    for (Path lib : libs) {
      includeHostPath(lib, stage);
    }
    Path caBundle = Path.of("/etc/ssl/certs/ca-certificates.crt");
    if (Files.isRegularFile(caBundle)) { // Debian ca-certificates, where installed
      includeHostPath(caBundle, stage);
    }
    writeResource("provided/bootstrap", dir(stage, "var/runtime").resolve("bootstrap"), 0755);
    dir(stage, "var/task");
    dir(stage, "opt");
    baseFiles(stage);
  }

  /** The jlinked JRE for this JDK, from the cache or linked now. */
  Path jlinked() throws IOException {
    return jlinked(JAVA_MODULES);
  }

  private Path jlinked(List<String> modules) throws IOException {
    Path jmods = javaHome.resolve("jmods");
    String release = Files.exists(javaHome.resolve("release"))
        ? Files.readString(javaHome.resolve("release"), StandardCharsets.UTF_8) : "";
    if (!Files.isDirectory(jmods) || !release.contains("JAVA_VERSION=\"17")) {
      throw new IOException("java home " + javaHome + " is not a JDK 17 with jmods/ (release says "
          + versionLine(release) + "); build with the Debian package openjdk-17-jdk-headless");
    }
    MessageDigest md = HashAlgorithm.SHA384.newDigest();
    md.update(("confaas-jre-v1\n" + release + "\n" + modules + "\n" + JLINK_OPTIONS + "\n")
        .getBytes(StandardCharsets.UTF_8));
    try (Stream<Path> s = Files.list(jmods)) {
      for (Path m : (Iterable<Path>) s.sorted()::iterator) {
        md.update(m.getFileName().toString().getBytes(StandardCharsets.UTF_8));
        try (InputStream in = new DigestInputStream(Files.newInputStream(m), md)) {
          in.transferTo(OutputStream.nullOutputStream());
        }
      }
    }
    String key = HexFormat.of().formatHex(md.digest()).substring(0, 32);
    Path cached = cacheDir.resolve("jre-" + key);
    if (Files.isDirectory(cached)) {
      return cached;
    }
    Files.createDirectories(cacheDir);
    Path tmp = cacheDir.resolve(".jre-" + key + "-" + ProcessHandle.current().pid() + "-"
        + Thread.currentThread().getId());
    deleteTree(tmp);
    List<String> cmd = new ArrayList<>(List.of(javaHome.resolve("bin/jlink").toString(),
        "--module-path", jmods.toString(), "--add-modules", String.join(",", modules)));
    cmd.addAll(JLINK_OPTIONS);
    cmd.addAll(List.of("--output", tmp.toString()));
    run(cmd, "jlink the Java layer's JRE");
    try {
      Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot rename within " + cacheDir + " atomically; use a local"
          + " directory as the cache", e);
    } catch (IOException e) {
      if (!Files.isDirectory(cached)) { // else another build linked the same JRE first
        throw e;
      }
      deleteTree(tmp);
    }
    return cached;
  }

  private static String versionLine(String release) {
    for (String l : release.split("\n")) {
      if (l.startsWith("JAVA_VERSION=")) {
        return l;
      }
    }
    return "no JAVA_VERSION";
  }

  /**
   * Where this JVM loaded the {@code dev.confaas.lambda} classes from: the {@code
   * confaas-java-runtime} jar (the API a {@code java} runtime handler compiles against; in a built
   * CLI, {@code cli/target/lib/confaas-java-runtime-VERSION.jar}), or its class directory when run
   * from the build tree.
   *
   * @throws IOException when the location cannot be told
   */
  public static Path javaRuntimeApiLocation() throws IOException {
    try {
      return Path.of(Bootstrap.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IOException("cannot tell where the confaas-java-runtime classes were loaded from;"
          + " put the confaas-java-runtime jar on the class path", e);
    }
  }

  /**
   * The {@code dev.confaas.lambda} classes, from wherever this JVM loaded them (the
   * confaas-java-runtime jar or its class directory), as a jar with sorted entries and fixed times.
   */
  static byte[] runtimeJar() throws IOException {
    Path source = javaRuntimeApiLocation();
    TreeMap<String, byte[]> classes = new TreeMap<>();
    if (Files.isDirectory(source)) {
      try (Stream<Path> s = Files.walk(source)) {
        for (Path f : (Iterable<Path>) s::iterator) {
          String name = source.relativize(f).toString().replace('\\', '/');
          if (name.startsWith("dev/confaas/lambda/") && name.endsWith(".class")) {
            classes.put(name, Files.readAllBytes(f));
          }
        }
      }
    } else {
      try (JarInputStream in = new JarInputStream(Files.newInputStream(source))) {
        for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
          if (e.getName().startsWith("dev/confaas/lambda/") && e.getName().endsWith(".class")) {
            classes.put(e.getName(), in.readAllBytes());
          }
        }
      }
    }
    if (!classes.containsKey("dev/confaas/lambda/Bootstrap.class")) {
      throw new IOException(source + " holds no dev/confaas/lambda/Bootstrap.class; build the"
          + " confaas-java-runtime module first");
    }
    java.util.jar.Manifest mf = new java.util.jar.Manifest();
    mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Bootstrap.class.getName());
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    // DOS times are local times; setTimeLocal keeps them the same in every time zone.
    LocalDateTime fixed = LocalDateTime.of(1980, 1, 1, 0, 0);
    try (JarOutputStream jar = new JarOutputStream(bytes)) {
      JarEntry m = new JarEntry("META-INF/MANIFEST.MF");
      m.setTimeLocal(fixed);
      jar.putNextEntry(m);
      mf.write(jar);
      jar.closeEntry();
      TreeSet<String> dirs = new TreeSet<>();
      for (String name : classes.keySet()) {
        for (int i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
          dirs.add(name.substring(0, i + 1));
        }
      }
      TreeMap<String, byte[]> all = new TreeMap<>(classes);
      dirs.forEach(d -> all.put(d, null));
      for (var e : all.entrySet()) {
        JarEntry je = new JarEntry(e.getKey());
        je.setTimeLocal(fixed);
        jar.putNextEntry(je);
        if (e.getValue() != null) {
          jar.write(e.getValue());
        }
        jar.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static boolean isElf(Path f) throws IOException {
    try (InputStream in = Files.newInputStream(f)) {
      byte[] h = in.readNBytes(4);
      return h.length == 4 && h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F';
    }
  }

  private static final Pattern LDD_ARROW = Pattern.compile("^\\s*(\\S+) => (\\S+) \\(0x");
  private static final Pattern LDD_PLAIN = Pattern.compile("^\\s*(/\\S+) \\(0x");

  /** Absolute host paths of the libraries {@code elf} needs, except those inside {@code stage}. */
  private static List<Path> sharedLibraries(Path elf, Path stage, Set<String> own)
      throws IOException {
    List<Path> out = new ArrayList<>();
    String text;
    try {
      text = run(List.of("ldd", elf.toString()), "list the shared libraries of " + elf);
    } catch (IOException e) {
      if (e.getMessage().contains("not a dynamic executable")) {
        return out;
      }
      throw e;
    }
    for (String line : text.split("\n")) {
      if (line.contains("=> not found") && own.contains(line.trim().split(" ")[0])) {
        continue; // e.g. libjvm.so for libjava.so: the JVM has loaded it already
      }
      if (line.contains("=> not found")) {
        throw new IOException(elf + " needs " + line.trim() + ", which this host does not have;"
            + " install the Debian package that provides it");
      }
      Matcher m = LDD_ARROW.matcher(line);
      Path p = null;
      if (m.find()) {
        p = Path.of(m.group(2));
      } else {
        m = LDD_PLAIN.matcher(line);
        if (m.find()) {
          p = Path.of(m.group(1));
        }
      }
      if (p != null && !p.normalize().startsWith(stage)) {
        out.add(p.normalize());
      }
    }
    return out;
  }

  /**
   * Puts host path {@code abs} into {@code stage} at the same path, recreating every symlink met on
   * the way (so {@code /lib64/ld-linux-x86-64.so.2} works through the usr-merge links as on the
   * host) and copying the file at the end of the chain. Never writes through a link.
   */
  static void includeHostPath(Path abs, Path stage) throws IOException {
    includeHostPath(abs, stage, 0);
  }

  private static void includeHostPath(Path abs, Path stage, int depth) throws IOException {
    if (depth > 40) {
      throw new IOException("too many symbolic links resolving " + abs);
    }
    Path cur = abs.getRoot();
    int n = abs.getNameCount();
    for (int i = 0; i < n; i++) {
      Path next = cur.resolve(abs.getName(i).toString());
      Path dst = stage.resolve(abs.getRoot().relativize(next).toString());
      if (Files.isSymbolicLink(next)) {
        Path target = Files.readSymbolicLink(next);
        if (!Files.exists(dst, LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(dst, target);
        }
        Path resolved = (target.isAbsolute() ? target : next.getParent().resolve(target)).normalize();
        includeHostPath(i + 1 < n ? resolved.resolve(abs.subpath(i + 1, n).toString()) : resolved,
            stage, depth + 1);
        return;
      } else if (Files.isDirectory(next, LinkOption.NOFOLLOW_LINKS)) {
        if (!Files.exists(dst, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectory(dst);
          Files.setPosixFilePermissions(dst, perms(0755));
        }
        cur = next;
      } else if (Files.isRegularFile(next, LinkOption.NOFOLLOW_LINKS) && i == n - 1) {
        if (!Files.exists(dst, LinkOption.NOFOLLOW_LINKS)) {
          copyFile(next, dst, Files.isExecutable(next) ? 0755 : 0644);
        }
        return;
      } else {
        throw new IOException("cannot put " + abs + " into the layer: " + next
            + " is not a directory, file or symbolic link");
      }
    }
  }

  // --- both ------------------------------------------------------------------------------------

  /** /etc for tools that look users up, /tmp, and mount points the agent fills. */
  private static void baseFiles(Path stage) throws IOException {
    Path etc = dir(stage, "etc");
    writeFile(etc.resolve("passwd"), ("root:x:0:0:root:/root:/bin/sh\n"
        + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        .getBytes(StandardCharsets.US_ASCII), 0644);
    writeFile(etc.resolve("group"), "root:x:0:\nnogroup:x:65534:\n"
        .getBytes(StandardCharsets.US_ASCII), 0644);
    // LayerTar keeps rwx bits only, so /tmp is 0777 without the sticky bit; the agent mounts a
    // private tmpfs there per instance anyway.
    Files.setPosixFilePermissions(dir(stage, "tmp"), perms(0777));
    dir(stage, "dev");
    dir(stage, "proc");
  }

  private static Path dir(Path stage, String rel) throws IOException {
    Path d = stage;
    for (String part : rel.split("/")) {
      d = d.resolve(part);
      if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(d);
        Files.setPosixFilePermissions(d, perms(0755));
      }
    }
    return d;
  }

  private static void copyFile(Path from, Path to, int mode) throws IOException {
    Files.copy(from, to);
    Files.setPosixFilePermissions(to, perms(mode));
  }

  private static void writeFile(Path to, byte[] data, int mode) throws IOException {
    Files.write(to, data);
    Files.setPosixFilePermissions(to, perms(mode));
  }

  /** Copies a tree keeping symlinks and the rwx bits of files (umask-independent directories). */
  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path f : (Iterable<Path>) s.sorted()::iterator) {
        Path d = to.resolve(from.relativize(f).toString());
        if (Files.isSymbolicLink(f)) {
          Files.createSymbolicLink(d, Files.readSymbolicLink(f));
        } else if (Files.isDirectory(f)) {
          if (!Files.exists(d)) {
            Files.createDirectory(d);
          }
          Files.setPosixFilePermissions(d, perms(0755));
        } else {
          copyFile(f, d, Files.isExecutable(f) ? 0755 : 0644);
        }
      }
    }
  }

  private static Set<PosixFilePermission> perms(int mode) {
    StringBuilder b = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      b.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return PosixFilePermissions.fromString(b.toString());
  }

  private static void writeResource(String name, Path to, int mode) throws IOException {
    try (InputStream in = resource(name)) {
      writeFile(to, in.readAllBytes(), mode);
    }
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = FrameworkLayers.class.getResourceAsStream(name);
    if (in == null) {
      throw new IOException("resource dev/confaas/vendor/framework/" + name + " is missing from"
          + " the confaas-vendor-layers jar; rebuild it");
    }
    return in;
  }

  private static String run(List<String> cmd, String what) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("LC_ALL", "C");
    Process p = pb.start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    try {
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException("could not " + what + ": " + cmd.get(0) + " did not finish in 5 min");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while trying to " + what, e);
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException("could not " + what + ": " + String.join(" ", cmd) + " exited with "
          + p.exitValue() + ": " + text.strip());
    }
    return text;
  }

  static void deleteTree(Path p) throws IOException {
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

  static String describe(BuiltLayer l) {
    return String.format(Locale.ROOT, "%s %s %d bytes", l.runtime(), l.digest(), l.sizeBytes());
  }
}
