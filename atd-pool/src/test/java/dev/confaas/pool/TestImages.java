package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.runtime.api.v1.AddBlobChunk;
import dev.confaas.runtime.api.v1.AddBlobResponse;
import dev.confaas.runtime.api.v1.AddManifestRequest;
import dev.confaas.runtime.api.v1.AddManifestResponse;
import dev.confaas.runtime.api.v1.TdAgentGrpc;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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

  static AddManifestResponse addManifest(Channel channel, SigningKeys keys, Manifest m) {
    return TdAgentGrpc.newBlockingStub(channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .addManifest(request(keys, m));
  }

  /** Streams a blob in 1 MiB chunks and returns the agent's answer (or throws its status). */
  static AddBlobResponse addBlob(Channel channel, String digest, byte[] data) throws Exception {
    CompletableFuture<AddBlobResponse> done = new CompletableFuture<>();
    StreamObserver<AddBlobChunk> up =
        TdAgentGrpc.newStub(channel)
            .withDeadlineAfter(120, TimeUnit.SECONDS)
            .addBlob(
                new StreamObserver<>() {
                  @Override
                  public void onNext(AddBlobResponse r) {
                    done.complete(r);
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    int chunk = 1024 * 1024;
    for (int off = 0; off < data.length; off += chunk) {
      AddBlobChunk.Builder b =
          AddBlobChunk.newBuilder()
              .setData(ByteString.copyFrom(data, off, Math.min(chunk, data.length - off)));
      if (off == 0) {
        b.setDigest(digest).setTotalSize(data.length);
      }
      up.onNext(b.build());
    }
    up.onCompleted();
    try {
      return done.get(120, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  static AddBlobResponse addBlob(Channel channel, Path tar) throws Exception {
    byte[] data;
    try (InputStream in = Files.newInputStream(tar)) {
      data = in.readAllBytes();
    }
    Digest d = digest(tar);
    AddBlobResponse r = addBlob(channel, d.toString(), data);
    assertEquals(d.toString(), r.getDigest());
    return r;
  }
}
