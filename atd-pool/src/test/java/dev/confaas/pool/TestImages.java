package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Real layers and signed manifests for the integration tests, and the upload calls. */
final class TestImages {
  private TestImages() {}

  /**
   * A minimal full root filesystem from the host's own binaries and the libraries {@code ldd}
   * names: sh, curl and a few tools — enough for a POSIX sh custom runtime.
   */
  static Path hostRootfs(Path dir) throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Process p =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "set -eu; root=$1; shift; for b in \"$@\"; do p=$(command -v \"$b\"); mkdir -p"
                    + " \"$root/bin\"; cp -L \"$p\" \"$root/bin/$b\"; ldd \"$p\" | grep -o '/[^ ]*'"
                    + " | while read -r lib; do mkdir -p \"$root$(dirname \"$lib\")\"; cp -L"
                    + " \"$lib\" \"$root$lib\"; done; done",
                "mkroot",
                dir.toString(),
                "sh",
                "curl",
                "cat",
                "tr",
                "grep",
                "cut",
                "sleep",
                "mktemp")
            .inheritIO()
            .start();
    assertTrue(
        p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "could not build the test rootfs");
    return dir;
  }

  /**
   * A function layer holding {@code /app/bootstrap}: a sh + curl custom runtime looping on {@code
   * invocation/next}; {@code handlerBody} sets {@code $OUT} from {@code $EVENT}.
   */
  static Path functionLayer(Path dir, String handlerBody) throws IOException {
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
            "  ID=$(grep -i '^lambda-runtime-aws-request-id:' \"$T/headers\" | tr -d '[:space:]' |"
                + " cut -d: -f2)",
            "  EVENT=$(cat \"$T/event\")",
            "  OUT=''",
            handlerBody,
            "  curl -sS -o /dev/null -X POST --data-binary \"$OUT\""
                + " \"$API/invocation/$ID/response\"",
            "done",
            "");
    Path bootstrap = app.resolve("bootstrap");
    Files.writeString(bootstrap, script);
    Files.setPosixFilePermissions(bootstrap, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** The directory as a reproducible layer tar next to it; returns the tar. */
  static Path tar(Path dir) throws IOException {
    Path tar = dir.resolveSibling(dir.getFileName() + ".tar");
    LayerTar.write(dir, "", tar);
    return tar;
  }

  static Digest digest(Path tar) throws IOException {
    return dev.confaas.image.LayerDigests.sha384(tar);
  }

  /** AddManifest with the canonical bytes, as the scheduler sends them. */
  static AddManifestRequest request(SigningKeys keys, Manifest m) {
    SignedManifest signed = keys.signer().signed(m);
    return AddManifestRequest.newBuilder()
        .setManifest(ByteString.copyFrom(m.canonicalBytes()))
        .setSignature(ByteString.copyFrom(signed.signature()))
        .setCertificate(ByteString.copyFrom(signed.certificateDer()))
        .build();
  }

  static AddManifestResponse addManifest(AgentClient agent, SigningKeys keys, Manifest m) {
    return await(agent.addManifest(request(keys, m)));
  }

  /** Streams a blob and returns the agent's answer (or throws its {@link AgentCallException}). */
  static AddBlobResponse addBlob(AgentClient agent, String digest, byte[] data) {
    return await(agent.addBlob(digest, data.length, new ByteArrayInputStream(data)));
  }

  /** The call's result; its {@link AgentCallException} thrown as is, so tests can assert on it. */
  static <T> T await(CompletableFuture<T> call) {
    return await(call, java.time.Duration.ofSeconds(120));
  }

  /** As {@link #await(CompletableFuture)}, waiting at most {@code limit}. */
  static <T> T await(CompletableFuture<T> call, java.time.Duration limit) {
    try {
      return call.get(limit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw AgentCallException.from(e);
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("the agent call did not complete: " + e, e);
    }
  }

  static AddBlobResponse addBlob(AgentClient agent, Path tar) throws Exception {
    byte[] data;
    try (InputStream in = Files.newInputStream(tar)) {
      data = in.readAllBytes();
    }
    Digest d = digest(tar);
    AddBlobResponse r = addBlob(agent, d.toString(), data);
    assertEquals(d.toString(), r.getDigest());
    return r;
  }
}
