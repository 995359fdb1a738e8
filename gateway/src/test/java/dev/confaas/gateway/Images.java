package dev.confaas.gateway;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerRef;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.vendor.VendorLayerRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * Real images for deploy tests: a vendor publishes a framework layer as {@code confaas-shell:1}; an
 * author builds a function layer and a manifest that names the framework layer by alias, and signs
 * it.
 */
final class Images {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  static final SigningKeys VENDOR = SigningKeys.generate("vendor", CLOCK);
  static final SigningKeys AUTHOR = SigningKeys.generate("author", CLOCK);
  static final NameSvn SHELL = NameSvn.of("confaas-shell", 1);

  private Images() {}

  /** A tar of one file {@code dir/name} holding {@code content}; returns its digest. */
  static Digest layer(Path work, String dir, String name, String content, Path tar)
      throws IOException {
    Path tree = Files.createTempDirectory(work, "tree");
    Files.writeString(tree.resolve(name), content, StandardCharsets.UTF_8);
    return LayerTar.write(tree, dir, tar);
  }

  /** Publishes the vendor's framework layer and returns the vendor image's ID. */
  static String publishShellRuntime(VendorLayerRegistry vendor, Path work) throws Exception {
    Path tar = work.resolve("shell-runtime.tar");
    layer(work, "var/runtime", "bootstrap", "#!/bin/sh\nexec sh \"/var/task/$_HANDLER\"\n", tar);
    Digest d = vendor.addLayer(tar);
    SignedManifest m = VENDOR.signer().signed(Manifest.builder()
        .addLayer(d).contentAlias(d, SHELL).build());
    return vendor.publish(m).imageId().toString();
  }

  static AliasRef shellAlias() {
    return AliasRef.of(VENDOR.signerId(), SHELL);
  }

  /** A function: its layer tar (written to {@code tar}) and the signed manifest naming it. */
  record Function(SignedManifest signed, Digest layer, Path tar) {}

  static Function function(Path work, String script, LayerRef framework) throws IOException {
    Path tar = Files.createTempFile(work, "fn", ".tar");
    Digest d = layer(work, "var/task", "handler.sh", script, tar);
    Manifest m = Manifest.builder()
        .addLayer(framework)
        .addLayer(d)
        .entrypoint("/var/runtime/bootstrap")
        .addEnv("_HANDLER=handler.sh")
        .build();
    return new Function(AUTHOR.signer().signed(m), d, tar);
  }

  static DeployBundle bundle(Function f, String configJson, boolean withLayer) {
    DeployBundle b = new DeployBundle()
        .config(configJson)
        .manifest(f.signed().manifest().bytes())
        .signature(f.signed().signature())
        .certificate(f.signed().certificateDer());
    return withLayer ? b.layer(f.layer(), f.tar()) : b;
  }
}
