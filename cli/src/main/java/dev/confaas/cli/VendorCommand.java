package dev.confaas.cli;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageSigner;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.ManifestException;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.vendor.AliasDefinition;
import dev.confaas.vendor.LayerResolution;
import dev.confaas.vendor.ResolvedLayer;
import dev.confaas.vendor.UnresolvedLayerException;
import dev.confaas.vendor.VendorLayerRegistry;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code confaas vendor}: Publish and update vendor framework layers. */
@Command(
    name = "vendor",
    mixinStandardHelpOptions = true,
    description = {
      "Publish and update vendor framework layers.",
      "A vendor signs a manifest whose aliases.contents maps NAME:SVN names to a",
      "layer digest; function authors list signer/HASH/SIGNER/NAME:SVN in their",
      "layers, and a later publication moves the alias to a new layer without",
      "re-signing their functions."
    },
    footer = {
      "",
      "Examples:",
      "  confaas vendor publish --layer python-3.12/ --name Python:3 \\",
      "      --key keys/vendor.key.pem --cert keys/vendor.cert.der --out registry/",
      "  confaas vendor resolve function/manifest.json --registry registry/"
    },
    subcommands = {VendorCommand.Publish.class, VendorCommand.Resolve.class})
final class VendorCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas vendor --help'");
  }

  @Command(
      name = "publish",
      mixinStandardHelpOptions = true,
      description = {
        "Publish a vendor layer under NAME:SVN aliases into a registry directory.",
        "Signs a vendor manifest that aliases the layer as each NAME:SVN and writes it",
        "with the layer. Prints the alias references function authors put in their",
        "manifests' layers."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  confaas keygen --out keys --name vendor",
        "  confaas vendor publish --layer python-3.12/ --name Python:3,Python:2 \\",
        "      --key keys/vendor.key.pem --cert keys/vendor.cert.der --out registry/",
        "  confaas vendor publish --layer framework.tar --name Framework:2 \\",
        "      --self-alias FW:2 --key keys/vendor.key.pem --cert keys/vendor.cert.der \\",
        "      --out registry/ --json",
        "",
        "Publishing again with a new layer and the same names moves the aliases;",
        "functions that reference them get the new layer without being re-signed.",
        "Exit codes: 0 published, 1 failed (reason on stderr), 2 usage error."
      })
  static final class Publish implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--layer", required = true, paramLabel = "TAR_OR_DIR",
        description = "The layer: a tar (gzip is stored uncompressed), or a directory to"
            + " pack reproducibly.")
    Path layer;

    @Option(names = "--name", required = true, split = ",", paramLabel = "NAME:SVN",
        description = "Alias(es) for the layer, e.g. Python:3,Python:2 (the new layer is"
            + " declared compatible with every SVN listed).")
    List<String> names;

    @Option(names = "--self-alias", split = ",", paramLabel = "NAME:SVN",
        description = "Alias(es) of the vendor image itself (aliases.self), for launch policies.")
    List<String> selfAliases = new ArrayList<>();

    @Option(names = "--key", required = true, paramLabel = "KEY.pem",
        description = "The vendor's private key, PEM (PKCS#8 or SEC1).")
    Path key;

    @Option(names = "--cert", required = true, paramLabel = "CERT.der",
        description = "The vendor's certificate, DER (PEM accepted).")
    Path cert;

    @Option(names = "--out", required = true, paramLabel = "DIR",
        description = "The registry directory; created if missing, appended to if not.")
    Path out;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      List<NameSvn> aliases = parseNames("--name", names);
      List<NameSvn> self = parseNames("--self-alias", selfAliases);
      ImageSigner signer = loadSigner();
      if (!Files.exists(layer)) {
        throw new Main.CliException("--layer " + layer + " does not exist");
      }

      VendorLayerRegistry registry = VendorLayerRegistry.open(out);
      Digest digest;
      if (Files.isDirectory(layer)) {
        Path packed = Files.createTempFile("confaas-layer-", ".tar");
        try {
          LayerTar.write(layer, "", packed);
          digest = registry.addLayer(packed);
        } finally {
          Files.deleteIfExists(packed);
        }
      } else {
        digest = registry.addLayer(layer);
      }

      Manifest.Builder b = Manifest.builder().addLayer(digest);
      aliases.forEach(a -> b.contentAlias(digest, a));
      self.forEach(b::selfAlias);
      SignedManifest signed = signer.signed(b.build());
      VendorLayerRegistry.Publication p = registry.publish(signed);

      PrintWriter w = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("layer", digest.toString());
        o.put("imageId", p.imageId().toString());
        o.put("publication", p.sequence());
        o.put("registry", registry.root().toString());
        o.put("aliases", p.defines().stream().map(AliasRef::toString).toList());
        w.println(CliJson.write(o));
      } else {
        w.println("layer        " + digest);
        w.println("manifest     " + p.imageId() + " (publication " + p.sequence() + " in "
            + registry.root() + ")");
        w.println("put one of these in your function manifest's layers:");
        for (AliasRef ref : p.defines()) {
          w.println("  " + ref);
        }
      }
      w.flush();
      return 0;
    }

    private List<NameSvn> parseNames(String option, List<String> values) {
      List<NameSvn> out = new ArrayList<>();
      for (String v : values) {
        try {
          out.add(NameSvn.parse(v));
        } catch (IllegalArgumentException e) {
          throw new CommandLine.ParameterException(
              spec.commandLine(), option + " '" + v + "': " + e.getMessage());
        }
      }
      return out;
    }

    private ImageSigner loadSigner() {
      PrivateKey privateKey;
      byte[] certificate;
      try {
        privateKey = SigningKeys.readPrivateKeyPem(CliFiles.read(key, "key"));
      } catch (IllegalArgumentException e) {
        throw new Main.CliException("--key " + key + ": " + e.getMessage(), e);
      }
      try {
        certificate = SigningKeys.certificateDer(CliFiles.read(cert, "certificate"));
      } catch (IllegalArgumentException e) {
        throw new Main.CliException("--cert " + cert + ": " + e.getMessage(), e);
      }
      try {
        return new ImageSigner(privateKey, certificate);
      } catch (IllegalArgumentException e) {
        throw new Main.CliException("--key/--cert: " + e.getMessage(), e);
      }
    }
  }

  @Command(
      name = "resolve",
      mixinStandardHelpOptions = true,
      description = {
        "Show what each layers entry of a manifest resolves to, bottom layer first.",
        "Uses the signed publications in a registry. Every entry that does not resolve",
        "is reported, with the alias chain that was followed."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  confaas vendor resolve function/manifest.json --registry registry/",
        "  confaas vendor resolve function/manifest.json --registry registry/ --json",
        "",
        "Exit codes: 0 all entries resolve, 1 some do not (listed) or the input is",
        "invalid, 2 usage error."
      })
  static final class Resolve implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MANIFEST", description = "The manifest (JSON) to resolve.")
    Path manifest;

    @Option(names = "--registry", required = true, paramLabel = "DIR",
        description = "The registry directory vendors published into.")
    Path registryDir;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Manifest m;
      try {
        m = Manifest.parse(CliFiles.read(manifest, "manifest"));
      } catch (ManifestException e) {
        throw new Main.CliException(manifest + ": " + e.getMessage(), e);
      }
      if (!Files.isDirectory(registryDir)) {
        throw new Main.CliException("--registry " + registryDir + " is not a directory");
      }
      LayerResolution res = VendorLayerRegistry.open(registryDir).resolver().resolveLayers(m);

      PrintWriter w = spec.commandLine().getOut();
      if (json) {
        List<Map<String, Object>> layers = new ArrayList<>();
        for (ResolvedLayer l : res.layers()) {
          Map<String, Object> o = new LinkedHashMap<>();
          o.put("entry", l.entry().toString());
          o.put("digest", l.digest().map(Digest::toString).orElse(null));
          List<Map<String, Object>> chain = new ArrayList<>();
          for (AliasDefinition d : l.chain()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("alias", d.alias().toString());
            c.put("target", d.target().toString());
            c.put("definedBy", d.definedBy().toString());
            c.put("publication", d.sequence());
            chain.add(c);
          }
          o.put("chain", chain);
          l.problem().ifPresent(p -> o.put("problem", p));
          layers.add(o);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("complete", res.isComplete());
        o.put("layers", layers);
        w.println(CliJson.write(o));
      } else {
        for (int i = 0; i < res.layers().size(); i++) {
          ResolvedLayer l = res.layers().get(i);
          String target = l.digest().map(Digest::toString).orElse("UNRESOLVED");
          StringBuilder via = new StringBuilder();
          if (!l.chain().isEmpty()) {
            via.append("  (publication ")
                .append(l.chain().get(l.chain().size() - 1).sequence());
            for (AliasDefinition d : l.chain().subList(1, l.chain().size())) {
              via.append(", via ").append(d.alias());
            }
            via.append(')');
          }
          w.println(i + "  " + l.entry() + "  ->  " + target + via);
          l.problem().ifPresent(p -> w.println("   " + p));
        }
      }
      w.flush();
      try {
        res.digests();
      } catch (UnresolvedLayerException e) {
        throw new Main.CliException(e.getMessage(), e);
      }
      return 0;
    }
  }

}
