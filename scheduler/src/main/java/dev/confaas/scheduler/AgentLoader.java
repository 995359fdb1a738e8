package dev.confaas.scheduler;

import dev.confaas.pool.GrpcCalls;
import com.google.protobuf.ByteString;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageRepository;
import dev.confaas.runtime.api.v1.AddBlobChunk;
import dev.confaas.runtime.api.v1.AddBlobResponse;
import dev.confaas.runtime.api.v1.AddManifestRequest;
import dev.confaas.runtime.api.v1.AddManifestResponse;
import dev.confaas.runtime.api.v1.StartRequest;
import dev.confaas.runtime.api.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Loads images into a TD and starts instances, over the agent's gRPC API. Blocking: runs on the
 * instance starter's threads, never on a caller's. Only {@link WarmPoolTds} uses it.
 *
 * <p>Per image of the load chain: AddManifest with the canonical manifest, its signature and
 * certificate (the agent verifies them, checks launch policy and measures into RTMR3), then AddBlob
 * for each layer the agent reports missing, streamed from the repository in chunks of at most 1 MiB
 * with flow control.
 */
final class AgentLoader {
  static final int CHUNK_BYTES = 1 << 20;

  private final ImageRepository repository;
  private final Duration timeout;

  AgentLoader(ImageRepository repository, Duration timeout) {
    this.repository = repository;
    this.timeout = timeout;
  }

  /** AddManifest (and missing blobs) for one image; true when it was newly measured. */
  boolean load(ManagedChannel channel, ImageFacts image) throws IOException, TdAgent.Refused {
    AddManifestResponse r;
    try {
      r =
          TdAgentGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
              .addManifest(
                  AddManifestRequest.newBuilder()
                      .setManifest(ByteString.copyFrom(image.signed().manifest().canonicalBytes()))
                      .setSignature(ByteString.copyFrom(image.signed().signature()))
                      .setCertificate(ByteString.copyFrom(image.signed().certificateDer()))
                      .build());
    } catch (RuntimeException e) {
      throw new TdAgent.Refused("AddManifest of " + image.imageId() + " refused: " + GrpcCalls.describe(e), e);
    }
    if (!r.getImageId().equals(image.imageId())) {
      throw new TdAgent.Refused(
          "the agent computed image ID " + r.getImageId() + " for " + image.imageId(), null);
    }
    for (String d : r.getMissingLayersList()) {
      upload(channel, Digest.parse(d));
    }
    return !r.getAlreadyLoaded();
  }

  /** Starts an instance of a loaded image; returns its instance ID. */
  String start(ManagedChannel channel, String imageId) throws TdAgent.Refused {
    try {
      return TdAgentGrpc.newBlockingStub(channel)
          .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .start(StartRequest.newBuilder().setImageId(imageId).build())
          .getInstanceId();
    } catch (RuntimeException e) {
      throw new TdAgent.Refused("Start of " + imageId + " refused: " + GrpcCalls.describe(e), e);
    }
  }

  private void upload(ManagedChannel channel, Digest digest) throws IOException, TdAgent.Refused {
    long size = Files.size(repository.blobPath(digest));
    CompletableFuture<AddBlobResponse> done = new CompletableFuture<>();
    Object ready = new Object();
    ClientResponseObserver<AddBlobChunk, AddBlobResponse> responses =
        new ClientResponseObserver<>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<AddBlobChunk> call) {
            call.setOnReadyHandler(
                () -> {
                  synchronized (ready) {
                    ready.notifyAll();
                  }
                });
          }

          @Override
          public void onNext(AddBlobResponse value) {
            done.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
            synchronized (ready) {
              ready.notifyAll();
            }
          }

          @Override
          public void onCompleted() {}
        };
    ClientCallStreamObserver<AddBlobChunk> call =
        (ClientCallStreamObserver<AddBlobChunk>)
            TdAgentGrpc.newStub(channel)
                .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .addBlob(responses);
    long deadline = System.nanoTime() + timeout.toNanos();
    try (InputStream in = repository.openBlob(digest)) {
      byte[] buf = new byte[CHUNK_BYTES];
      boolean first = true;
      int n;
      while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
        synchronized (ready) {
          while (!call.isReady() && !done.isDone()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
              call.cancel("upload timed out", null);
              throw new TdAgent.Refused("AddBlob of " + digest + " timed out after " + timeout, null);
            }
            ready.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
          }
        }
        if (done.isDone()) {
          break; // the agent answered early: a refusal, reported below
        }
        AddBlobChunk.Builder chunk = AddBlobChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n));
        if (first) {
          chunk.setDigest(digest.toString()).setTotalSize(size);
          first = false;
        }
        call.onNext(chunk.build());
      }
      if (!done.isDone()) {
        call.onCompleted();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("interrupted", e);
      throw new TdAgent.Refused("AddBlob of " + digest + " interrupted", e);
    }
    try {
      done.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new TdAgent.Refused("AddBlob of " + digest + " refused: " + GrpcCalls.describe(e.getCause()), e);
    } catch (TimeoutException e) {
      throw new TdAgent.Refused("AddBlob of " + digest + " got no answer within " + timeout, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TdAgent.Refused("AddBlob of " + digest + " interrupted", e);
    }
  }
}
