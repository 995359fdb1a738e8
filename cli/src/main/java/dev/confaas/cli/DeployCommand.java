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
      "Deploy a function: build and sign its image (--runtime),",
      "or upload a signed one (--manifest).",
      "Each deploy adds a version; 'latest' points at the newest."
    },
    footer = {
      "",
      "Examples:",
      "  confaas deploy --name hello --runtime shell --handler hello.sh",
      "  confaas deploy --name calc --runtime java --handler com.example.Calc \\",
      "      --jar calc.jar --invoke-auth token",
      "  confaas deploy --name hello --manifest out/manifest.json \\",
      "      --signature out/signature --cert keys/author.cert.der --layer out/layer.tar"
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
        description = "Runtime to build for: shell or java (as the gateway offers).")
    String runtime;

    @Option(names = "--handler", required = true, paramLabel = "FILE|CLASS",
        description = "shell: the script file; java: the handler class.")
    String handler;

    @Option(names = "--jar", paramLabel = "JAR", description = "java: the function's jar.")
    Path jar;

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
    String handlerEnv;
    if (b.runtime.equals("java")) {
      if (b.jar == null) {
        throw new Main.CliException("--runtime java needs --jar JAR (the handler class's jar)");
      }
      Files.write(tree.resolve(b.jar.getFileName()), CliFiles.read(b.jar, "jar"));
      handlerEnv = b.handler;
    } else {
      Path script = Path.of(b.handler);
      Path dest = tree.resolve(script.getFileName());
      Files.write(dest, CliFiles.read(script, "handler"));
      try {
        Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rwxr-xr-x"));
      } catch (UnsupportedOperationException noPosix) {
        // the tar records 0755 only where the file system knows modes
      }
      handlerEnv = script.getFileName().toString();
    }
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
      w.println("needs:   " + d);
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
