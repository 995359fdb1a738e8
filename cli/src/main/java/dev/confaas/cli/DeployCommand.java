package dev.confaas.cli;

import dev.confaas.gateway.DeployBundle;
import dev.confaas.gateway.FunctionConfig;
import dev.confaas.platform.FunctionImageBuilder;
import dev.confaas.platform.SigningKeyFiles;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code confaas deploy}: sends a function to the gateway. With {@code --runtime} it builds the
 * function image itself (the handler in a layer under {@code /var/task/}, on top of the platform's
 * framework layer named by alias, as {@code GET /v1/runtimes} tells) and signs it; with {@code
 * --manifest} it sends an image already built and signed ({@code confaas image build/sign}).
 */
@Command(
    name = "deploy",
    mixinStandardHelpOptions = true,
    description = {
      "Deploy a function, as a new version.",
      "Builds and signs its image for a runtime (--runtime), or uploads one built and",
      "signed before (--manifest). Each deploy adds a version; 'latest' points at the",
      "newest. Prints the version, the image ID and the vendor images (framework",
      "layers) the image builds on, which a TD loads with it."
    },
    footer = {
      "",
      "Examples:",
      "  confaas deploy --name hello --runtime shell --handler hello.sh",
      "  confaas deploy --name calc --runtime java --handler com.example.Calc \\",
      "      --jar calc.jar --invoke-auth token",
      "  confaas deploy --name orders --runtime java-aws \\",
      "      --handler com.example.Orders::handleRequest --jar orders.jar",
      "  confaas deploy --name echo --runtime provided --bootstrap bootstrap \\",
      "      --handler function.handler --file function.sh",
      "  confaas deploy --name hello --manifest out/manifest.json \\",
      "      --signature out/signature --cert keys/author.cert.der \\",
      "      --layer out/layer.tar",
      "",
      "Handler APIs: 'confaas runtimes' says where each comes from."
    })
final class DeployCommand implements Callable<Integer> {
  /** The default author key: {@code DATA/keys/author.key.pem} + {@code author.cert.der}. */
  static final String AUTHOR_NAME = "author";

  @Spec CommandSpec spec;
  @Mixin GatewayClient.Options gateway;

  @Option(names = "--name", required = true, paramLabel = "NAME", description = "Function name.")
  String name;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @ArgGroup(exclusive = false)
    Build build;

    @ArgGroup(exclusive = false)
    Signed signed;
  }

  static final class Build {
    @Option(names = "--runtime", required = true, paramLabel = "RUNTIME",
        description = "Runtime to build for: shell, java, java-aws or provided"
            + " (as the gateway offers; see 'confaas runtimes').")
    String runtime;

    @Option(names = "--handler", required = true, paramLabel = "HANDLER",
        description = "shell: the script file; java: the handler class; java-aws: AWS's handler"
            + " (pkg.Class::method or pkg.Class); provided: the _HANDLER value for your bootstrap.")
    String handler;

    @Option(names = "--jar", paramLabel = "JAR",
        description = "java, java-aws: the function's jar (goes to /var/task/).")
    Path jar;

    @Option(names = "--lib", paramLabel = "JAR",
        description = "java, java-aws: a jar for /var/task/lib/ (repeat), as in AWS's"
            + " deployment packages.")
    List<Path> libs = new ArrayList<>();

    @Option(names = "--bootstrap", paramLabel = "FILE",
        description = "provided: your runtime, installed as /var/task/bootstrap (mode 0755).")
    Path bootstrap;

    @Option(names = "--file", paramLabel = "FILE",
        description = "Another file for /var/task/ (repeat; keeps its executable bit).")
    List<Path> files = new ArrayList<>();

    @Option(names = "--key", paramLabel = "KEY.pem",
        description = "Signing key (default: DATA/keys/author.key.pem, generated on first use).")
    Path key;
  }

  static final class Signed {
    @Option(names = "--manifest", required = true, paramLabel = "FILE",
        description = "Signed manifest (JSON).")
    Path manifest;

    @Option(names = "--signature", required = true, paramLabel = "FILE",
        description = "Signature over the canonical manifest.")
    Path signature;

    @Option(names = "--layer", paramLabel = "TAR",
        description = "A layer tar to upload (repeat; only those the gateway lacks are needed).")
    List<Path> layers = new ArrayList<>();
  }

  @Option(names = "--cert", paramLabel = "CERT.der",
      description = "Signer certificate (with --manifest, or with --key).")
  Path cert;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where the author key lives (default: CONFAAS_DATA_DIR, else ~/.confaas).")
  Path dataDir;

  @Option(names = "--concurrency", paramLabel = "N", description = "Max in-flight invocations.")
  Integer concurrency;

  @Option(names = "--timeout-ms", paramLabel = "MS", description = "Per-invocation timeout.")
  Long timeoutMs;

  @Option(names = "--memory-mb", paramLabel = "MB", description = "Memory per instance.")
  Integer memoryMb;

  @Option(names = "--invoke-auth", paramLabel = "none|token",
      description = "Who may invoke: none (anyone) or token (a token the deploy returns once)."
          + " Default: unchanged (none for a new function).")
  String invokeAuth;

  @Option(names = "--json", description = "Print the gateway's answer as JSON.")
  boolean json;

  Clock clock = Clock.systemUTC();

  @Override
  public Integer call() throws IOException {
    if (invokeAuth != null && !invokeAuth.equals("none") && !invokeAuth.equals("token")) {
      throw new Main.CliException("--invoke-auth must be none or token, was " + invokeAuth);
    }
    GatewayClient client = gateway.client();
    DeployBundle bundle = new DeployBundle().config(config().encode());
    Path work = null;
    try {
      if (source.signed != null) {
        if (cert == null) {
          throw new Main.CliException("--manifest needs --cert: the certificate of the signer");
        }
        bundle.manifest(CliFiles.read(source.signed.manifest, "manifest"))
            .signature(CliFiles.read(source.signed.signature, "signature"))
            .certificate(ImageCommand.readCertificate(cert));
        for (Path layer : source.signed.layers) {
          bundle.layer(digest(layer), layer);
        }
      } else {
        work = Files.createTempDirectory("confaas-deploy");
        build(client, work, bundle);
      }
      GatewayClient.Response r = GatewayClient.check(client.deploy(bundle), "deploy " + name);
      print(new JsonObject(r.text()));
      return 0;
    } finally {
      if (work != null) {
        deleteTree(work);
      }
    }
  }

  private JsonObject config() {
    JsonObject c = new JsonObject().put("name", name);
    if (invokeAuth != null) {
      c.put("invokeAuth", invokeAuth);
    }
    if (concurrency != null) {
      c.put("concurrency", concurrency);
    }
    if (timeoutMs != null) {
      c.put("timeoutMs", timeoutMs);
    }
    if (memoryMb != null) {
      c.put("memoryMb", memoryMb);
    }
    return c;
  }

  private static Digest digest(Path layer) {
    try {
      return LayerDigests.sha384(layer);
    } catch (IOException e) {
      throw new Main.CliException("cannot read layer " + layer + ": " + e.getMessage(), e);
    }
  }

  /** Builds the function layer and manifest for {@code --runtime} and signs it. */
  private void build(GatewayClient client, Path work, DeployBundle bundle) throws IOException {
    Build b = source.build;
    JsonObject runtimes = new JsonObject(
        GatewayClient.check(client.get("/v1/runtimes"), "list runtimes").text());
    JsonObject rt = runtimes.getJsonObject(b.runtime);
    if (rt == null) {
      throw new Main.CliException("the gateway offers no runtime \"" + b.runtime + "\""
          + (runtimes.isEmpty() ? " (it offers none yet: the platform publishes its framework"
              + " layers when it starts)" : " (it offers: " + String.join(", ",
              runtimes.fieldNames()) + ")")
          + "; or build and sign an image yourself and deploy it with --manifest");
    }
    Path tree = Files.createDirectories(work.resolve("task"));
    String handlerEnv = taskFiles(b, tree);
    List<String> entrypoint = new ArrayList<>();
    for (Object o : rt.getJsonArray("entrypoint", new JsonArray())) {
      entrypoint.add((String) o);
    }
    List<String> env = new ArrayList<>();
    for (Object o : rt.getJsonArray("env", new JsonArray())) {
      env.add((String) o);
    }
    FunctionImageBuilder.Built built;
    try {
      built = FunctionImageBuilder.build(
          FunctionImageBuilder.runtime(rt.getString("layer"), entrypoint, env),
          tree, handlerEnv,
          // One TD may run as many instances as the function may have calls in flight.
          concurrency != null ? concurrency : FunctionConfig.DEFAULT_CONCURRENCY,
          signingKeys(b).signer(), work.resolve("function.tar"));
    } catch (IllegalArgumentException e) {
      throw new Main.CliException("the gateway's runtime \"" + b.runtime + "\" names layer \""
          + rt.getString("layer") + "\", which is not an alias reference: " + e.getMessage());
    }
    SignedManifest signed = built.signed();
    bundle.manifest(signed.manifest().bytes())
        .signature(signed.signature())
        .certificate(signed.certificateDer())
        .layer(built.layer(), built.layerTar());
  }

  /**
   * Puts the function's files into {@code tree} (what becomes {@code /var/task/}) as {@code
   * b.runtime} expects them, and returns the {@code _HANDLER} value.
   */
  static String taskFiles(Build b, Path tree) throws IOException {
    boolean java = b.runtime.equals("java") || b.runtime.equals("java-aws");
    boolean provided = b.runtime.equals("provided");
    if (!java && (b.jar != null || !b.libs.isEmpty())) {
      throw new Main.CliException("--jar and --lib are for --runtime java or java-aws; for "
          + b.runtime + " add files with --file");
    }
    if (!provided && b.bootstrap != null) {
      throw new Main.CliException("--bootstrap is for --runtime provided, where the function"
          + " brings its own runtime; --runtime " + b.runtime + " has one");
    }
    for (Path f : b.files) {
      copy(f, tree.resolve(f.getFileName().toString()), "file", Files.isExecutable(f));
    }
    if (java) {
      if (b.jar == null && b.libs.isEmpty()) {
        throw new Main.CliException("--runtime " + b.runtime + " needs --jar JAR (the jar with"
            + " the handler class) or --lib JAR");
      }
      if (b.jar != null) {
        copy(b.jar, tree.resolve(b.jar.getFileName().toString()), "jar", false);
      }
      if (!b.libs.isEmpty()) {
        Path libDir = Files.createDirectories(tree.resolve("lib"));
        try {
          // The function runs as nobody: the directory must be listable whatever the umask.
          Files.setPosixFilePermissions(libDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException noPosix) {
          // the tar records modes only where the file system knows them
        }
        for (Path lib : b.libs) {
          copy(lib, libDir.resolve(lib.getFileName().toString()), "jar", false);
        }
      }
      return b.handler;
    }
    if (provided) {
      if (b.bootstrap == null) {
        throw new Main.CliException("--runtime provided needs --bootstrap FILE: the program that"
            + " runs your function (a loop on the Lambda Runtime API, e.g. AWS's tutorial's"
            + " bootstrap); --handler is only passed to it as _HANDLER");
      }
      copy(b.bootstrap, tree.resolve("bootstrap"), "bootstrap", true);
      return b.handler;
    }
    Path script = Path.of(b.handler);
    copy(script, tree.resolve(script.getFileName().toString()), "handler", true);
    return script.getFileName().toString();
  }

  private static void copy(Path from, Path to, String what, boolean executable)
      throws IOException {
    Files.write(to, CliFiles.read(from, what));
    try {
      Files.setPosixFilePermissions(to,
          PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
    } catch (UnsupportedOperationException noPosix) {
      // the tar records modes only where the file system knows them
    }
  }

  /** {@code --key}/{@code --cert}, else the author key in the data directory (made once). */
  private SigningKeys signingKeys(Build b) {
    if (b.key != null) {
      if (cert == null) {
        throw new Main.CliException("--key needs --cert: the certificate of that key");
      }
      PrivateKey k = ImageCommand.readKey(b.key);
      return SigningKeys.of(k, ImageCommand.readCertificate(cert));
    }
    Path dir = (dataDir != null ? dataDir : GatewayEndpoint.dataDir(System.getenv()))
        .resolve("keys");
    SigningKeyFiles.Loaded loaded;
    try {
      loaded = SigningKeyFiles.loadOrCreate(dir, AUTHOR_NAME, "confaas author", clock);
    } catch (IOException e) {
      throw new Main.CliException(e.getMessage(), e);
    }
    if (loaded.created()) {
      spec.commandLine().getErr().println("confaas deploy: created the author signing key "
          + loaded.keyFile() + " (signer " + loaded.keys().signerId() + ")");
    }
    return loaded.keys();
  }

  private void print(JsonObject r) {
    PrintWriter w = spec.commandLine().getOut();
    if (json) {
      w.println(r.encode());
      return;
    }
    w.println("deployed " + r.getString("name") + " version " + r.getInteger("version"));
    w.println("image:   " + r.getString("imageId"));
    JsonArray deps = r.getJsonArray("dependencies", new JsonArray());
    for (Object d : deps) {
      // The deploy response's dependencies: vendor manifests whose aliases the layers resolve by.
      w.println("vendor:  " + d + "  (the vendor image that publishes the framework layer this"
          + " image names by alias; TDs load it with the function)");
    }
    if (r.getString("invokeToken") != null) {
      w.println("invoke token (shown once; callers send 'Authorization: Bearer <token>'): "
          + r.getString("invokeToken"));
    }
  }

  private static void deleteTree(Path root) {
    try (var s = Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory; the OS cleans it eventually
    }
  }
}
