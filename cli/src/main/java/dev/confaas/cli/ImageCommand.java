package dev.confaas.cli;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.HashAlgorithm;
import dev.confaas.image.ImageSigner;
import dev.confaas.image.ImageVerificationException;
import dev.confaas.image.LayerException;
import dev.confaas.image.LayerRef;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.ManifestException;
import dev.confaas.image.NameSvn;
import dev.confaas.image.OciImporter;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code confaas image}: Build, import, sign, inspect and verify ACON function images. */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    description = "Build, import, sign, inspect and verify ACON function images.",
    subcommands = {
      ImageCommand.Build.class,
      ImageCommand.Import.class,
      ImageCommand.Sign.class,
      ImageCommand.Id.class,
      ImageCommand.Verify.class,
      ImageCommand.Inspect.class
    },
    footer = {
      "",
      "Examples:",
      "  confaas image build --dir ./hello --layer-prefix fn --working-dir /fn \\",
      "      --entrypoint /fn/handler.sh --self-alias hello:1 --out build",
      "  confaas image sign build/manifest.json --key keys/signer.key.pem \\",
      "      --cert keys/signer.cert.der",
      "  confaas image id build/manifest.json --cert keys/signer.cert.der",
      "  confaas image verify build/manifest.json --signature build/manifest.json.sig \\",
      "      --cert keys/signer.cert.der"
    })
final class ImageCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas image --help'");
  }

  /** The manifest file name {@code image build} and {@code image import} write. */
  static final String MANIFEST_FILE = "manifest.json";

  static Manifest readManifest(Path p) {
    try {
      return Manifest.parse(CliFiles.read(p, "manifest"));
    } catch (ManifestException e) {
      throw new Main.CliException(p + ": " + e.getMessage(), e);
    }
  }

  static byte[] readCertificate(Path p) {
    try {
      return SigningKeys.certificateDer(CliFiles.read(p, "certificate"));
    } catch (IllegalArgumentException e) {
      throw new Main.CliException("certificate " + p + ": " + e.getMessage(), e);
    }
  }

  static PrivateKey readKey(Path p) {
    try {
      return SigningKeys.readPrivateKeyPem(CliFiles.read(p, "private key"));
    } catch (IllegalArgumentException e) {
      throw new Main.CliException("private key " + p + ": " + e.getMessage(), e);
    }
  }

  static SignedManifest bind(Manifest m, byte[] signature, byte[] cert, Path certPath) {
    try {
      return SignedManifest.of(m, signature, cert);
    } catch (ImageVerificationException e) {
      throw new Main.CliException("certificate " + certPath + ": " + e.getMessage(), e);
    }
  }

  static void writeManifest(Path out, Manifest m) {
    CliFiles.write(out.resolve(MANIFEST_FILE), m.bytes(), "manifest");
  }

  // --- image build -----------------------------------------------------------------------------

  @Command(
      name = "build",
      mixinStandardHelpOptions = true,
      description = {
        "Build an unsigned function image from a directory.",
        "Writes a reproducible layer tar of --dir (named by its sha384 digest) and",
        "manifest.json. Vendor layers come first in 'layers', in the order given, then",
        "the function layer."
      },
      footer = {
        "",
        "Examples:",
        "  confaas image build --dir ./hello --layer-prefix fn --working-dir /fn \\",
        "      --entrypoint /fn/handler.sh \\",
        "      --vendor-layer signer/sha384/<vendor signer hex>/python3:2 \\",
        "      --self-alias hello:1 --accepts 'sha384/*/*' --out build"
      })
  static final class Build implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--dir",
        required = true,
        paramLabel = "FUNCTION_DIR",
        description = "Directory with the function's files.")
    Path dir;

    @Option(
        names = "--layer-prefix",
        paramLabel = "PATH",
        defaultValue = "",
        description =
            "Where --dir appears in the container's tree, e.g. fn for /fn (default: the root).")
    String layerPrefix;

    @Option(
        names = "--entrypoint",
        required = true,
        arity = "1..*",
        paramLabel = "CMD",
        description = "Executable and arguments (execve argv).")
    List<String> entrypoint;

    @Option(
        names = "--vendor-layer",
        paramLabel = "REF",
        description =
            "A vendor layer: signer/HASH/SIGNER/NAME:SVN alias (or a sha384/<hex> digest)."
                + " Repeatable.")
    List<String> vendorLayers = new ArrayList<>();

    @Option(
        names = "--accepts",
        paramLabel = "RULE",
        description =
            "Launch policy rule HASH/SIGNER/MANIFEST (SIGNER may be *, MANIFEST a digest, NAME:SVN"
                + " or *). Repeatable.")
    List<String> accepts = new ArrayList<>();

    @Option(
        names = "--reject-unaccepted",
        description = "Refuse to share a TD with images the policy does not accept.")
    boolean rejectUnaccepted;

    @Option(
        names = "--self-alias",
        paramLabel = "NAME:SVN",
        description = "An alias of this image for other images' policies. Repeatable.")
    List<String> selfAliases = new ArrayList<>();

    @Option(
        names = "--env",
        paramLabel = "K=V",
        description =
            "Environment rule: K=V (must be V, default V), K= (may be unset) or K (any value)."
                + " Repeatable.")
    List<String> env = new ArrayList<>();

    @Option(
        names = "--working-dir",
        paramLabel = "DIR",
        defaultValue = "/",
        description = "Working directory of the entry point (default: ${DEFAULT-VALUE}).")
    String workingDir;

    @Option(
        names = "--max-instances",
        paramLabel = "N",
        defaultValue = "1",
        description = "Most instances at once; 0 means no limit (default: ${DEFAULT-VALUE}).")
    long maxInstances;

    @Option(
        names = "--log-fds",
        paramLabel = "FD[,FD]",
        defaultValue = "1,2",
        description =
            "Descriptors whose output leaves the TD as the function's logs (ACON logFDs):"
                + " 1 stdout, 2 stderr, or none (default: ${DEFAULT-VALUE}).")
    String logFds;

    @Option(
        names = "--out",
        required = true,
        paramLabel = "DIR",
        description = "Output directory for manifest.json and the layer tar.")
    Path out;

    /** The --log-fds value as descriptors; the agent captures 1 and 2 only. */
    static List<Integer> logFds(String value) {
      if (value.strip().equalsIgnoreCase("none")) {
        return List.of();
      }
      List<Integer> fds = new ArrayList<>();
      for (String part : value.split(",", -1)) {
        String p = part.strip();
        if (!p.equals("1") && !p.equals("2")) {
          throw new Main.CliException(
              "--log-fds \"" + value + "\": each entry must be 1 (stdout) or 2 (stderr), or give"
                  + " none to keep all output inside the TD");
        }
        if (!fds.contains(Integer.parseInt(p))) {
          fds.add(Integer.parseInt(p));
        }
      }
      return fds;
    }

    @Override
    public Integer call() {
      List<Integer> shareFds = logFds(logFds);
      if (!Files.isDirectory(dir)) {
        throw new Main.CliException("--dir " + dir + " is not a directory");
      }
      if (out.toAbsolutePath().normalize().startsWith(dir.toAbsolutePath().normalize())) {
        throw new Main.CliException(
            "--out "
                + out
                + " is inside --dir "
                + dir
                + "; the layer would contain itself, choose another --out");
      }
      Manifest.Builder b = Manifest.builder();
      for (String v : vendorLayers) {
        try {
          b.addLayer(LayerRef.parse(v));
        } catch (IllegalArgumentException e) {
          throw new Main.CliException("--vendor-layer: " + e.getMessage(), e);
        }
      }
      for (String a : selfAliases) {
        try {
          b.selfAlias(NameSvn.parse(a));
        } catch (IllegalArgumentException e) {
          throw new Main.CliException("--self-alias: " + e.getMessage(), e);
        }
      }
      CliFiles.mkdirs(out);
      Path tmp = out.resolve(".layer.tar.part");
      Digest layer;
      try {
        layer = LayerTar.write(dir, layerPrefix, tmp);
        Files.move(
            tmp,
            out.resolve(OciImporter.layerFileName(layer)),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } catch (LayerException e) {
        throw new Main.CliException("--dir " + dir + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw new Main.CliException(
            "cannot write the layer into " + out + ": " + e.getMessage(), e);
      } finally {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort; the .part name marks it as unfinished
        }
      }
      b.addLayer(layer).entrypoint(entrypoint).workingDir(workingDir).maxInstances(maxInstances);
      shareFds.forEach(b::addLogFD);
      env.forEach(b::addEnv);
      accepts.forEach(b::accept);
      b.rejectUnaccepted(rejectUnaccepted);
      Manifest m;
      try {
        m = b.build();
      } catch (ManifestException e) {
        throw new Main.CliException("the options give an invalid manifest: " + e.getMessage(), e);
      }
      writeManifest(out, m);
      PrintWriter w = spec.commandLine().getOut();
      w.println(
          "function layer: " + layer + "  (" + out.resolve(OciImporter.layerFileName(layer)) + ")");
      w.println(
          "manifest:       "
              + out.resolve(MANIFEST_FILE)
              + "  (unsigned; next: confaas image sign)");
      return 0;
    }
  }

  // --- image import ----------------------------------------------------------------------------

  @Command(
      name = "import",
      mixinStandardHelpOptions = true,
      description = {
        "Turn an OCI image (layout directory or 'docker save' tar) into an ACON image.",
        "Writes an unsigned manifest and decompressed layer tars named by their sha384",
        "digests. As Lambda maps an image, a one-element Cmd becomes the handler",
        "(_HANDLER), and Env entries the platform sets itself (LAMBDA_TASK_ROOT, TZ, ...)",
        "are dropped with a warning."
      },
      footer = {
        "",
        "Examples:",
        "  skopeo copy docker://alpine:3.20 oci:alpine-oci:3.20 && \\",
        "      confaas image import --oci-layout alpine-oci --out alpine",
        "  docker save hello:latest -o hello.tar && \\",
        "      confaas image import --docker-archive hello.tar --out hello"
      })
  static final class Import implements Callable<Integer> {
    @Spec CommandSpec spec;

    static final class Source {
      @Option(
          names = "--oci-layout",
          paramLabel = "DIR",
          description = "OCI image layout directory.")
      Path ociLayout;

      @Option(
          names = "--docker-archive",
          paramLabel = "TAR",
          description = "Tar written by 'docker save'.")
      Path dockerArchive;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Override
    public Integer call() {
      OciImporter.Result r;
      try {
        r =
            source.ociLayout != null
                ? OciImporter.fromLayout(source.ociLayout, out)
                : OciImporter.fromDockerArchive(source.dockerArchive, out);
      } catch (IOException e) {
        throw new Main.CliException(e.getMessage(), e);
      }
      writeManifest(out, r.manifest());
      PrintWriter w = spec.commandLine().getOut();
      for (Map.Entry<Digest, Path> l : r.layers().entrySet()) {
        w.println("layer:    " + l.getKey() + "  (" + l.getValue() + ")");
      }
      w.println("manifest: " + out.resolve(MANIFEST_FILE) + "  (unsigned)");
      for (String n : r.notes()) {
        w.println("note: " + n);
      }
      for (String warning : r.warnings()) {
        spec.commandLine().getErr().println("warning: " + warning);
      }
      return 0;
    }
  }

  // --- image sign ------------------------------------------------------------------------------

  @Command(
      name = "sign",
      mixinStandardHelpOptions = true,
      description = {
        "Sign the canonical form of MANIFEST (as 'jq -jcS .' prints it) with KEY.",
        "The hash comes from the certificate. Writes a DER signature, as",
        "'openssl dgst -sha384 -sign' does."
      },
      footer = {
        "",
        "Examples:",
        "  confaas image sign build/manifest.json --key keys/signer.key.pem \\",
        "      --cert keys/signer.cert.der"
      })
  static final class Sign implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MANIFEST")
    Path manifest;

    @Option(
        names = "--key",
        required = true,
        paramLabel = "KEY.pem",
        description = "Private key, PKCS#8 or SEC1 PEM.")
    Path key;

    @Option(
        names = "--cert",
        required = true,
        paramLabel = "CERT.der",
        description = "The key's certificate (DER; PEM accepted).")
    Path cert;

    @Option(
        names = "--out",
        paramLabel = "SIG",
        description = "Signature file (default: MANIFEST.sig).")
    Path out;

    @Override
    public Integer call() {
      Manifest m = readManifest(manifest);
      byte[] certDer = readCertificate(cert);
      ImageSigner signer;
      try {
        signer = new ImageSigner(readKey(key), certDer);
      } catch (IllegalArgumentException e) {
        throw new Main.CliException(key + " with " + cert + ": " + e.getMessage(), e);
      }
      Path sigPath = out != null ? out : manifest.resolveSibling(manifest.getFileName() + ".sig");
      CliFiles.write(sigPath, signer.sign(m), "signature");
      PrintWriter w = spec.commandLine().getOut();
      w.println("image ID:  " + signer.imageId(m));
      w.println("signature: " + sigPath);
      return 0;
    }
  }

  // --- image id --------------------------------------------------------------------------------

  @Command(
      name = "id",
      mixinStandardHelpOptions = true,
      description = {
        "Print the image ID of MANIFEST signed with CERT_DER, alone on a line.",
        "The ID is HASH/SIGNER/MANIFEST: HASH from the certificate,",
        "SIGNER = HASH(certificate DER), MANIFEST = HASH(canonical manifest)."
      },
      footer = {
        "",
        "Examples:",
        "  confaas image id build/manifest.json --cert keys/signer.cert.der"
      })
  static final class Id implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MANIFEST")
    Path manifest;

    @Option(
        names = "--cert",
        required = true,
        paramLabel = "CERT_DER",
        description = "Signer's certificate (DER).")
    Path cert;

    @Option(
        names = "--json",
        description = "Print {\"imageId\",\"signerId\",\"hash\",\"manifestDigest\"}.")
    boolean json;

    @Override
    public Integer call() {
      Manifest m = readManifest(manifest);
      SignedManifest sm = bind(m, new byte[0], readCertificate(cert), cert);
      PrintWriter w = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("imageId", sm.imageId().toString());
        o.put("signerId", sm.signerId().toString());
        o.put("hash", sm.hashAlgorithm().aconName());
        o.put("manifestDigest", m.digest(sm.hashAlgorithm()).toString());
        w.println(CliJson.write(o));
      } else {
        w.println(sm.imageId());
      }
      return 0;
    }
  }

  // --- image verify ----------------------------------------------------------------------------

  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description = {
        "Check a signature over MANIFEST's canonical form.",
        "Exit 0 if SIG is a valid signature of it by CERT_DER's key; 1 with the reason",
        "(bad signature, weak or malformed certificate, ...)."
      },
      footer = {
        "",
        "Examples:",
        "  confaas image verify build/manifest.json --signature build/manifest.json.sig \\",
        "      --cert keys/signer.cert.der"
      })
  static final class Verify implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MANIFEST")
    Path manifest;

    @Option(
        names = "--signature",
        required = true,
        paramLabel = "SIG",
        description = "DER signature file.")
    Path signature;

    @Option(
        names = "--cert",
        required = true,
        paramLabel = "CERT_DER",
        description = "Signer's certificate (DER).")
    Path cert;

    @Option(
        names = "--json",
        description =
            "Print {\"verified\",\"imageId\",\"signerId\"} or {\"verified\":false,\"reason\"}.")
    boolean json;

    @Override
    public Integer call() {
      PrintWriter w = spec.commandLine().getOut();
      Manifest m = readManifest(manifest);
      byte[] sig = CliFiles.read(signature, "signature");
      SignedManifest sm;
      try {
        sm = SignedManifest.of(m, sig, readCertificate(cert));
        sm.verify();
      } catch (ImageVerificationException e) {
        if (json) {
          Map<String, Object> o = new LinkedHashMap<>();
          o.put("verified", false);
          o.put("reason", e.getMessage());
          w.println(CliJson.write(o));
          return 1;
        }
        throw new Main.CliException("NOT verified: " + e.getMessage(), e);
      }
      if (json) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("verified", true);
        o.put("imageId", sm.imageId().toString());
        o.put("signerId", sm.signerId().toString());
        w.println(CliJson.write(o));
      } else {
        w.println("verified: " + sm.imageId());
      }
      return 0;
    }
  }

  // --- image inspect ---------------------------------------------------------------------------

  @Command(
      name = "inspect",
      mixinStandardHelpOptions = true,
      description = {
        "Show a manifest's fields and canonical digest.",
        "With --cert, also its signer and image IDs."
      },
      footer = {
        "",
        "Examples:",
        "  confaas image inspect build/manifest.json --cert keys/signer.cert.der --json"
      })
  static final class Inspect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MANIFEST")
    Path manifest;

    @Option(
        names = "--cert",
        paramLabel = "CERT",
        description = "Signer's certificate, to show signer and image IDs.")
    Path cert;

    @Option(names = "--json", description = "Print the fields as one JSON object.")
    boolean json;

    @Override
    public Integer call() {
      Manifest m = readManifest(manifest);
      SignedManifest sm = cert == null ? null : bind(m, new byte[0], readCertificate(cert), cert);
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("aconSpecVersion", m.aconSpecVersion());
      List<Object> layers = new ArrayList<>();
      for (LayerRef l : m.layers()) {
        layers.add(l.toString());
      }
      o.put("layers", layers);
      Map<String, Object> contents = new LinkedHashMap<>();
      m.aliases().contents().forEach((k, v) -> contents.put(k.toString(), strings(v)));
      Map<String, Object> aliases = new LinkedHashMap<>();
      aliases.put("contents", contents);
      aliases.put("self", strings(m.aliases().self()));
      o.put("aliases", aliases);
      o.put("entrypoint", m.entrypoint());
      o.put("env", m.env());
      o.put("workingDir", m.workingDir());
      o.put("uids", m.uids());
      o.put("logFDs", m.logFDs());
      o.put("writableFS", m.writableFS());
      o.put("noRestart", m.noRestart());
      o.put("signals", m.signals());
      o.put("maxInstances", m.maxInstances());
      Map<String, Object> policy = new LinkedHashMap<>();
      policy.put("accepts", m.policy().accepts());
      policy.put("rejectUnaccepted", m.policy().rejectUnaccepted());
      o.put("policy", policy);
      HashAlgorithm h = sm == null ? HashAlgorithm.SHA384 : sm.hashAlgorithm();
      o.put("manifestDigest", m.digest(h).toString());
      if (sm != null) {
        o.put("signerId", sm.signerId().toString());
        o.put("imageId", sm.imageId().toString());
      }
      PrintWriter w = spec.commandLine().getOut();
      if (json) {
        w.println(CliJson.write(o));
        return 0;
      }
      w.printf("manifest:        %s (ACON spec %d.%d)%n", manifest, m.specMajor(), m.specMinor());
      if (sm != null) {
        w.println("image ID:        " + sm.imageId());
        w.println("signer ID:       " + sm.signerId());
      }
      w.println("manifest digest: " + o.get("manifestDigest") + "  (of the canonical form)");
      w.println("layers (lowest first):");
      if (m.layers().isEmpty()) {
        w.println("  (none)");
      }
      for (LayerRef l : m.layers()) {
        w.println(
            "  "
                + l
                + (l instanceof AliasRef
                    ? "  (vendor alias " + ((AliasRef) l).nameSvn() + ")"
                    : ""));
      }
      if (!m.aliases().self().isEmpty()) {
        w.println("self aliases:    " + String.join(", ", strings(m.aliases().self())));
      }
      m.aliases()
          .contents()
          .forEach(
              (k, v) ->
                  w.println("defines aliases: " + String.join(", ", strings(v)) + " -> " + k));
      w.println(
          "entrypoint:      "
              + (m.entrypoint().isEmpty() ? "(none)" : String.join(" ", m.entrypoint())));
      w.println("working dir:     " + m.workingDir());
      if (!m.env().isEmpty()) {
        w.println("env rules:       " + String.join(", ", m.env()));
      }
      w.println("max instances:   " + (m.maxInstances() == 0 ? "no limit" : m.maxInstances()));
      w.println("writable FS:     " + m.writableFS() + ", no restart: " + m.noRestart());
      if (!m.uids().isEmpty() || !m.logFDs().isEmpty() || !m.signals().isEmpty()) {
        w.println("uids: " + m.uids() + ", logFDs: " + m.logFDs() + ", signals: " + m.signals());
      }
      w.println(
          "policy:          accepts "
              + (m.policy().accepts().isEmpty()
                  ? "(nothing listed)"
                  : String.join(", ", m.policy().accepts()))
              + (m.policy().rejectUnaccepted() ? "; rejects all others" : ""));
      return 0;
    }

    private static List<String> strings(List<NameSvn> l) {
      List<String> out = new ArrayList<>();
      for (NameSvn n : l) {
        out.add(n.toString());
      }
      return out;
    }
  }
}
