package dev.confaas.scheduler;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.FunctionSettings;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageRepository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Loads images into a TD and starts instances, through the TD's {@link AgentClient}. Blocking: runs
 * on the instance starter's threads, never on a caller's. Only {@link WarmPoolTds} uses it.
 *
 * <p>Per image of the load chain: AddManifest with the canonical manifest, its signature and
 * certificate (the agent verifies them, checks launch policy and measures into RTMR3), then AddBlob
 * for each layer the agent reports missing, streamed from the repository with flow control.
 */
final class AgentLoader {
  /** agent.proto: a function's timeout is at most 15 minutes, as Lambda's. */
  private static final long MAX_TIMEOUT_MS = 900_000;
  /** The slowest an agent is expected to take in a layer, for AddBlob's deadline: 1 MiB/s. */
  static final long SLOWEST_BYTES_PER_SECOND = 1 << 20;
  private final ImageRepository repository;
  private final Duration timeout;

  AgentLoader(ImageRepository repository, Duration timeout) {
    this.repository = repository;
    this.timeout = timeout;
  }

  /** The TD's client with this loader's limit on each load and Start call. */
  private AgentClient limited(AgentClient agent) {
    return agent.withConfig(agent.config().withLoad(timeout).withStart(timeout));
  }

  /**
   * AddManifest (and missing blobs) for one image; true when it was newly measured.
   *
   * @throws MeasuredThenRefused when the agent measured the image (or may have: its answer to
   *     AddManifest was lost) and the load failed after that
   */
  boolean load(AgentClient td, ImageFacts image) throws MeasuredThenRefused, TdAgent.Refused {
    AgentClient agent = limited(td);
    String what = "AddManifest of " + image.imageId();
    AddManifestResponse r;
    try {
      r = await(
          agent.addManifest(
              AddManifestRequest.newBuilder()
                  .setManifest(ByteString.copyFrom(image.signed().manifest().canonicalBytes()))
                  .setSignature(ByteString.copyFrom(image.signed().signature()))
                  .setCertificate(ByteString.copyFrom(image.signed().certificateDer()))
                  .build()),
          what);
    } catch (TdAgent.Refused e) {
      if (e.getCause() != null
          && AgentCallException.from(e.getCause()).kind() == AgentCallException.Kind.TRANSPORT_LOST) {
        throw new MeasuredThenRefused(e.getMessage() + " (whether the agent measured it is unknown)", e);
      }
      throw e; // refused before measuring: signature, policy, limits
    } catch (IOException e) {
      throw new TdAgent.Refused(what + " failed: " + e.getMessage(), e);
    }
    if (!r.getImageId().equals(image.imageId())) {
      throw new MeasuredThenRefused(
          "the agent computed image ID " + r.getImageId() + " for " + image.imageId(), null);
    }
    try {
      for (String d : r.getMissingLayersList()) {
        upload(agent, Digest.parse(d));
      }
    } catch (IOException e) {
      throw new MeasuredThenRefused(
          "the layers of " + image.imageId() + " cannot be read: " + e.getMessage(), e);
    } catch (TdAgent.Refused e) {
      throw new MeasuredThenRefused(e.getMessage(), e);
    }
    return !r.getAlreadyLoaded();
  }

  /**
   * The agent measured an image into RTMR3 (or may have) and its load failed afterwards: the TD
   * names an image in RTMR3 it will not run, and must not be shared further.
   */
  static final class MeasuredThenRefused extends Exception {
    private static final long serialVersionUID = 1L;

    MeasuredThenRefused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Starts an instance of a loaded image for one deployment; returns its instance ID. */
  String start(AgentClient td, String imageId, DeployedFunction d) throws IOException, TdAgent.Refused {
    return await(
            limited(td).start(
                StartRequest.newBuilder().setImageId(imageId).setSettings(settings(d)).build()),
            "Start of " + imageId + " for \"" + d.name() + "\" version " + d.version())
        .getInstanceId();
  }

  /**
   * The deadline of one AddBlob: the load timeout plus the layer's size at {@value
   * #SLOWEST_BYTES_PER_SECOND} bytes/s, so a large layer sent to an agent that is slow because the
   * host is busy (it hashes and unpacks as it receives) is not cut off (issue 11, defect 7: timeouts
   * that scale with the work).
   */
  static Duration blobDeadline(Duration loadTimeout, long size) {
    return loadTimeout.plusMillis(size * 1000 / SLOWEST_BYTES_PER_SECOND);
  }

  /** What the function is told of its deployment (agent.proto {@code FunctionSettings}). */
  static FunctionSettings settings(DeployedFunction d) {
    return FunctionSettings.newBuilder()
        .setName(d.name())
        .setVersion(Integer.toString(d.version()))
        .setMemoryMb(d.memoryMb())
        .setTimeoutMs((int) Math.min(MAX_TIMEOUT_MS, Math.max(1, d.timeout().toMillis())))
        .build();
  }

  private void upload(AgentClient agent, Digest digest) throws IOException, TdAgent.Refused {
    long size = Files.size(repository.blobPath(digest));
    AgentClient sized = agent.withConfig(agent.config().withLoad(blobDeadline(timeout, size)));
    AddBlobResponse r =
        await(sized.addBlob(digest.toString(), size, repository.openBlob(digest)), "AddBlob of " + digest);
    if (!r.getDigest().equals(digest.toString())) {
      throw new TdAgent.Refused("the agent stored " + r.getDigest() + " for AddBlob of " + digest, null);
    }
  }

  /** The call's result; the agent's refusal, a lost transport or a local read error as a TdAgent.Refused. */
  private static <T> T await(CompletableFuture<T> call, String what) throws IOException, TdAgent.Refused {
    try {
      return call.get(); // each call carries its own deadline
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UncheckedIOException io) {
        throw io.getCause();
      }
      throw new TdAgent.Refused(what + " refused: " + AgentCallException.from(e).describe(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel(true);
      throw new TdAgent.Refused(what + " interrupted", e);
    }
  }

}
