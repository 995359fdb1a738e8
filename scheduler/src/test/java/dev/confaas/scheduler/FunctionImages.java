package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageRepository;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * Real function images for the integration tests, stored in a real {@link ImageRepository}: a vendor
 * image whose layer is a minimal root filesystem built from the host's own sh, curl and tools (named
 * by the alias {@code ShellRuntime:1}), and function images on top of it holding a sh + curl custom
 * runtime that speaks the Lambda Runtime API.
 */
final class FunctionImages {
  static final NameSvn SHELL_RUNTIME = NameSvn.parse("ShellRuntime:1");

  private final Path work;
  private final ImageRepository repository;
  private final SigningKeys vendor;
  private final String vendorImageId;

  FunctionImages(Path work, SigningKeys vendor) throws Exception {
    this.work = work;
    this.vendor = vendor;
    this.repository = ImageRepository.open(work.resolve("repo"));
    Digest rootfs = putLayer(hostRootfs(work.resolve("rootfs")));
    Manifest m = Manifest.builder().addLayer(rootfs).contentAlias(rootfs, SHELL_RUNTIME).build();
    this.vendorImageId = repository.putImage(vendor.signer().signed(m)).toString();
  }

  ImageRepository repository() {
    return repository;
  }

  /** The vendor framework image every function depends on. */
  String vendorImageId() {
    return vendorImageId;
  }

  /**
   * Signs and stores a function image by {@code author} whose launch policy accepts only the
   * author's and the vendor's images ({@code rejectUnaccepted}). Its handler answers {@code
   * NAME:EVENT-IN-UPPER-CASE}, sleeps N seconds for the event {@code sleep N}, exits 1 (the
   * instance crashes) for {@code crash}, holds ~300 MB for {@code hog}, and answers its environment for {@code env}.
   */
  String function(SigningKeys author, String name) throws Exception {
    return function(author, name, 4);
  }

  /** As {@link #function(SigningKeys, String)}, with the manifest's {@code maxInstances}. */
  String function(SigningKeys author, String name, int maxInstances) throws Exception {
    String handler =
        String.join(
            "\n",
            "  case \"$EVENT\" in",
            "    sleep*) sleep \"${EVENT#sleep }\"; OUT=slept ;;",
            "    crash) exit 1 ;;",
            "    hog) x=$(head -c 300000000 /dev/zero | tr '\\0' a); OUT=${#x} ;;",
            "    *) OUT=\"" + name + ":$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z')\" ;;",
            "  esac");
    Digest layer = putLayer(functionLayer(work.resolve("fn-" + name + "-" + maxInstances), handler));
    Manifest m =
        Manifest.builder()
            .addLayer(AliasRef.of(vendor.signerId(), SHELL_RUNTIME))
            .addLayer(layer)
            .entrypoint("/bin/sh", "/app/bootstrap")
            .workingDir("/app")
            .maxInstances(maxInstances)
            .addSignal(15)
            .accept("sha384/" + author.signerId().hex() + "/*")
            .accept("sha384/" + vendor.signerId().hex() + "/*")
            .rejectUnaccepted(true)
            .build();
    SignedManifest signed = author.signer().signed(m);
    return repository.putImage(signed).toString();
  }

  private Digest putLayer(Path dir) throws IOException {
    Path tar = dir.resolveSibling(dir.getFileName() + ".tar");
    LayerTar.write(dir, "", tar);
    try (InputStream in = Files.newInputStream(tar)) {
      return repository.putBlob(in);
    }
  }

  /** sh, curl and the tools the runtime loop uses, with the libraries {@code ldd} names. */
  private static Path hostRootfs(Path dir) throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Process p =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "set -eu; root=$1; shift; for b in \"$@\"; do p=$(command -v \"$b\");"
                    + " mkdir -p \"$root/bin\"; cp -L \"$p\" \"$root/bin/$b\";"
                    + " ldd \"$p\" | grep -o '/[^ ]*' | while read -r lib; do"
                    + " mkdir -p \"$root$(dirname \"$lib\")\"; cp -L \"$lib\" \"$root$lib\"; done; done",
                "mkroot", dir.toString(), "sh", "curl", "cat", "tr", "grep", "cut", "sleep", "mktemp", "head")
            .inheritIO()
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "could not build the test rootfs");
    return dir;
  }

  /** {@code /app/bootstrap}: loops on {@code invocation/next}; {@code handler} sets $OUT from $EVENT. */
  private static Path functionLayer(Path dir, String handler) throws IOException {
    Path app = Files.createDirectories(dir.resolve("app"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(app, PosixFilePermissions.fromString("rwxr-xr-x"));
    String script =
        String.join(
            "\n",
            "#!/bin/sh",
            "API=\"http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime\"",
            "T=$(mktemp -d)",
            "while :; do",
            "  curl -sS -D \"$T/headers\" -o \"$T/event\" \"$API/invocation/next\" || exit 70",
            "  ID=$(grep -i '^lambda-runtime-aws-request-id:' \"$T/headers\" | tr -d '[:space:]' | cut -d: -f2)",
            "  EVENT=$(cat \"$T/event\")",
            "  OUT=''",
            handler,
            "  curl -sS -o /dev/null -X POST --data-binary \"$OUT\" \"$API/invocation/$ID/response\"",
            "done",
            "");
    Path bootstrap = app.resolve("bootstrap");
    Files.writeString(bootstrap, script);
    Files.setPosixFilePermissions(bootstrap, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }
}
