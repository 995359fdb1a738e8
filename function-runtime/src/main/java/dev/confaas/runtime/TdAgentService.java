package dev.confaas.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.v1.AddBlobChunk;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.FinalizeRequest;
import dev.confaas.agent.v1.FinalizeResponse;
import dev.confaas.agent.v1.FunctionError;
import dev.confaas.agent.v1.FunctionSettings;
import dev.confaas.agent.v1.ImageInfo;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.InstanceInfo;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.KillRequest;
import dev.confaas.agent.v1.KillResponse;
import dev.confaas.agent.v1.MeasurementLog;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.StartResponse;
import dev.confaas.agent.v1.StreamLogsRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The agent's gRPC service (agent.proto) over an {@link InstanceSupervisor} and a {@link
 * LoadedFunctions}. Each request is checked here, because the caller is the untrusted host; every
 * refusal is a status whose description names the field or rule.
 *
 * <p>Servers must accept messages of {@link AgentLimits#MAX_MESSAGE_BYTES} (an Invoke carries up to
 * 6 MiB): {@code NettyServerBuilder.maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)}.
 */
public final class TdAgentService extends TdAgentGrpc.TdAgentImplBase {
  /** Largest manifest AddManifest accepts (agent.proto). */
  static final int MAX_MANIFEST_BYTES = 64 * 1024;
  static final int MAX_SIGNATURE_BYTES = 256;
  static final int MAX_CERTIFICATE_BYTES = 16 * 1024;
  static final int MAX_CHUNK_BYTES = AgentLimits.MAX_CHUNK_BYTES;
  /** Largest layer blob. */
  static final long MAX_BLOB_BYTES = 4L * 1024 * 1024 * 1024;
  private static final java.util.regex.Pattern LAYER_DIGEST =
      java.util.regex.Pattern.compile("sha384/[0-9a-f]{96}");

  private static final String NO_LOADER =
      " is not available in this agent: it runs without an image loader (signature, alias and"
          + " launch-policy checks, RTMR3 measurement); only functions prepared by the agent's"
          + " operator can run";
  private static final String NO_REPORTER =
      "Report is not available in this agent: it runs without an attestation reporter (TDX quote"
          + " and identity key)";

  private final InstanceSupervisor supervisor;
  private final LoadedFunctions catalog;
  private final ImageLoader loader; // null: AddManifest, AddBlob, Finalize are UNIMPLEMENTED
  private final AttestationReporter reporter; // null: Report is UNIMPLEMENTED
  private final ReceiptSigner receipts; // null: replies carry no receipt (no identity key)
  private final SealingKey sealing; // null (or no receipts, hence no TD ID): sealed requests UNIMPLEMENTED

  /** An agent that runs only prepared functions and cannot attest. */
  public TdAgentService(InstanceSupervisor supervisor, LoadedFunctions catalog) {
    this(supervisor, catalog, null, null, null, null);
  }

  /**
   * A full agent.
   *
   * @param reporter may be null, and then Report answers UNIMPLEMENTED
   */
  public TdAgentService(
      InstanceSupervisor supervisor, ImageLoader loader, AttestationReporter reporter) {
    this(supervisor, loader, loader, reporter, null, null);
  }

  /**
   * A full agent that signs a receipt for every invocation and opens sealed requests.
   *
   * @param receipts signs with the identity key {@code reporter}'s quotes bind, and names the TD
   * @param sealing the sealing key {@code reporter}'s quotes bind
   */
  public TdAgentService(
      InstanceSupervisor supervisor,
      ImageLoader loader,
      AttestationReporter reporter,
      ReceiptSigner receipts,
      SealingKey sealing) {
    this(supervisor, loader, loader, reporter, receipts, sealing);
  }

  private TdAgentService(
      InstanceSupervisor supervisor,
      LoadedFunctions catalog,
      ImageLoader loader,
      AttestationReporter reporter,
      ReceiptSigner receipts,
      SealingKey sealing) {
    this.supervisor = supervisor;
    this.catalog = catalog;
    this.loader = loader;
    this.reporter = reporter;
    this.receipts = receipts;
    this.sealing = sealing;
  }

  @Override
  public void addManifest(AddManifestRequest request, StreamObserver<AddManifestResponse> out) {
    if (loader == null) {
      out.onError(Status.UNIMPLEMENTED.withDescription("AddManifest" + NO_LOADER).asRuntimeException());
      return;
    }
    try {
      checkSize("manifest", request.getManifest().size(), MAX_MANIFEST_BYTES);
      checkSize("signature", request.getSignature().size(), MAX_SIGNATURE_BYTES);
      checkSize("certificate", request.getCertificate().size(), MAX_CERTIFICATE_BYTES);
      ImageLoader.AddedManifest added =
          loader.addManifest(
              request.getManifest().toByteArray(),
              request.getSignature().toByteArray(),
              request.getCertificate().toByteArray());
      out.onNext(
          AddManifestResponse.newBuilder()
              .setImageId(added.imageId())
              .addAllMissingLayers(added.missingLayers())
              .setAlreadyLoaded(added.alreadyLoaded())
              .build());
      out.onCompleted();
    } catch (ImageRefusedException e) {
      out.onError(toStatus(e).asRuntimeException());
    } catch (RuntimeException e) {
      out.onError(toStatus(e).asRuntimeException());
    }
  }

  @Override
  public StreamObserver<AddBlobChunk> addBlob(StreamObserver<AddBlobResponse> out) {
    if (loader == null) {
      out.onError(Status.UNIMPLEMENTED.withDescription("AddBlob" + NO_LOADER).asRuntimeException());
      return new BlobReceiver(null, out, true);
    }
    return new BlobReceiver(loader, out, false);
  }

  @Override
  public void finalize(FinalizeRequest request, StreamObserver<FinalizeResponse> out) {
    if (loader == null) {
      out.onError(Status.UNIMPLEMENTED.withDescription("Finalize" + NO_LOADER).asRuntimeException());
      return;
    }
    try {
      loader.finalizeImages();
      out.onNext(FinalizeResponse.getDefaultInstance());
      out.onCompleted();
    } catch (ImageRefusedException e) {
      out.onError(toStatus(e).asRuntimeException());
    }
  }

  @Override
  public void report(ReportRequest request, StreamObserver<ReportResponse> out) {
    if (reporter == null) {
      out.onError(Status.UNIMPLEMENTED.withDescription(NO_REPORTER).asRuntimeException());
      return;
    }
    int n = request.getNonce().size();
    if (n < 16 || n > 64) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("nonce is " + n + " bytes; it must be 16 to 64 bytes")
              .asRuntimeException());
      return;
    }
    try {
      AttestationReporter.Evidence e = reporter.report(request.getNonce().toByteArray());
      ReportResponse.Builder b =
          ReportResponse.newBuilder()
              .setQuote(ByteString.copyFrom(e.quote()))
              .setIdentityPublicKey(ByteString.copyFrom(e.identityPublicKey()))
              .setSealingPublicKey(ByteString.copyFrom(e.sealingPublicKey()))
              .setAttestationData(ByteString.copyFrom(e.attestationData()));
      if (receipts != null) {
        b.setTdId(receipts.tdId());
      }
      e.rtmrLogs()
          .forEach(
              (rtmr, lines) ->
                  b.putRtmrLogs(rtmr, MeasurementLog.newBuilder().addAllEntries(lines).build()));
      out.onNext(b.build());
      out.onCompleted();
    } catch (Exception e) {
      out.onError(
          Status.INTERNAL.withDescription("the agent could not produce a quote: " + e.getMessage())
              .asRuntimeException());
    }
  }

  /**
   * One AddBlob stream: the first chunk names the digest and size, the chunks must add up to it,
   * and the loader checks the digest at the end. The first refusal ends the stream.
   */
  private static final class BlobReceiver implements StreamObserver<AddBlobChunk> {
    private final ImageLoader loader;
    private final StreamObserver<AddBlobResponse> out;
    private boolean done;
    private ImageLoader.BlobUpload upload;
    private String digest;
    private long total;
    private long received;

    BlobReceiver(ImageLoader loader, StreamObserver<AddBlobResponse> out, boolean done) {
      this.loader = loader;
      this.out = out;
      this.done = done;
    }

    @Override
    public synchronized void onNext(AddBlobChunk chunk) {
      if (done) {
        return;
      }
      try {
        if (upload == null) {
          digest = chunk.getDigest();
          total = chunk.getTotalSize();
          if (!LAYER_DIGEST.matcher(digest).matches()) {
            throw new IllegalArgumentException(
                "the first chunk's digest \"" + digest + "\" must be sha384/ and 96 lowercase hex digits");
          }
          if (total < 1 || total > MAX_BLOB_BYTES) {
            throw new IllegalArgumentException(
                "total_size " + total + " must be 1 to " + MAX_BLOB_BYTES + " bytes");
          }
          upload = loader.startBlob(digest, total);
        } else if (!chunk.getDigest().isEmpty() && !chunk.getDigest().equals(digest)) {
          throw new IllegalArgumentException(
              "chunk at offset " + received + " names digest " + chunk.getDigest()
                  + " but the stream is uploading " + digest);
        }
        int n = chunk.getData().size();
        if (n < 1 || n > MAX_CHUNK_BYTES) {
          throw new IllegalArgumentException(
              "chunk at offset " + received + " has " + n + " bytes; chunks carry 1 to "
                  + MAX_CHUNK_BYTES);
        }
        if (received + n > total) {
          throw new IllegalArgumentException(
              "chunks add up to more than total_size " + total + " (at offset " + received + ")");
        }
        upload.append(chunk.getData().toByteArray());
        received += n;
      } catch (ImageRefusedException | RuntimeException e) {
        fail(e);
      }
    }

    @Override
    public synchronized void onError(Throwable t) {
      if (upload != null && !done) {
        upload.abort();
      }
      done = true;
    }

    @Override
    public synchronized void onCompleted() {
      if (done) {
        return;
      }
      try {
        if (upload == null) {
          throw new IllegalArgumentException("the stream carried no chunk");
        }
        if (received != total) {
          throw new IllegalArgumentException(
              "the stream ended after " + received + " of total_size " + total + " bytes");
        }
        String stored = upload.finish();
        done = true;
        out.onNext(AddBlobResponse.newBuilder().setDigest(stored).setSize(received).build());
        out.onCompleted();
      } catch (ImageRefusedException | RuntimeException e) {
        fail(e);
      }
    }

    private void fail(Exception e) {
      if (upload != null) {
        upload.abort();
      }
      done = true;
      out.onError(toStatus(e).asRuntimeException());
    }
  }

  private static void checkSize(String field, int size, int max) {
    if (size == 0 || size > max) {
      throw new IllegalArgumentException(field + " is " + size + " bytes; it must be 1 to " + max);
    }
  }

  @Override
  public void start(StartRequest request, StreamObserver<StartResponse> out) {
    try {
      FunctionSpec spec = spec(request.getImageId(), "image_id");
      List<String> env = new java.util.ArrayList<>();
      InstanceSettings settings = settings(spec, request.getSettings(), request.getEnvList(), env);
      String id = supervisor.startInstance(spec, env, settings);
      out.onNext(StartResponse.newBuilder().setInstanceId(id).build());
      out.onCompleted();
    } catch (RuntimeException e) {
      out.onError(toStatus(e).asRuntimeException());
    }
  }

  @Override
  public void invoke(InvokeRequest request, StreamObserver<InvokeResponse> out) {
    CompletableFuture<InstanceOutcome> result;
    SealedMessages.ServerRequest sealed;
    try {
      Duration defaultTimeout =
          request.getTargetCase() == InvokeRequest.TargetCase.INSTANCE_ID
                  && !request.getInstanceId().isEmpty()
              ? supervisor.settingsOf(request.getInstanceId()).timeout()
              : Invocation.DEFAULT_TIMEOUT;
      sealed = request.getSealedRequest().isEmpty() ? null : openSealed(request);
      Invocation invocation =
          invocation(
              request,
              sealed == null ? request.getPayload().toByteArray() : sealed.event(),
              defaultTimeout);
      result =
          switch (request.getTargetCase()) {
            case INSTANCE_ID -> supervisor.invokeInstance(request.getInstanceId(), invocation);
            case IMAGE_ID -> supervisor.invoke(spec(request.getImageId(), "image_id"), invocation);
            case TARGET_NOT_SET -> throw new IllegalArgumentException(
                "set instance_id or image_id to say where the invocation runs");
          };
    } catch (SealedMessages.SealedMessageException e) {
      out.onError(Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (UnsupportedOperationException e) {
      out.onError(Status.UNIMPLEMENTED.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      out.onError(toStatus(e).asRuntimeException());
      return;
    }
    // A caller that gives up (deadline, cancel) frees its place in the queue.
    if (out instanceof ServerCallStreamObserver<InvokeResponse> call) {
      call.setOnCancelHandler(() -> result.cancel(false));
    }
    // Async: hashing up to 6 MiB twice and signing must not hold up the thread that completed the
    // invocation (the Lambda Runtime API's event loop).
    result.whenCompleteAsync(
        (r, e) -> {
          if (e != null) {
            if (!(e instanceof CancellationException)) {
              out.onError(toStatus(unwrap(e)).asRuntimeException());
            }
            return;
          }
          InvokeResponse.Builder reply;
          if (sealed != null) {
            // Nothing of the function's output leaves the TD in the clear.
            try {
              reply = sealedResponse(request, r, sealed);
            } catch (RuntimeException failed) {
              out.onError(
                  Status.INTERNAL
                      .withDescription(
                          "the agent could not seal the response to request " + r.requestId() + ": "
                              + failed.getMessage())
                      .asRuntimeException());
              return;
            }
            out.onNext(reply.build());
            out.onCompleted();
            return;
          }
          reply = response(r);
          if (receipts != null) {
            try {
              reply.setReceipt(receipt(request, r));
            } catch (RuntimeException failed) {
              out.onError(
                  Status.INTERNAL
                      .withDescription(
                          "the agent could not sign the receipt for request "
                              + r.requestId()
                              + ": "
                              + failed.getMessage())
                      .asRuntimeException());
              return;
            }
          }
          out.onNext(reply.build());
          out.onCompleted();
        });
  }

  /** The receipt for {@code r}, naming the image and function of the instance that ran it. */
  private String receipt(InvokeRequest request, InstanceOutcome r) {
    FunctionSpec spec = specThatRan(request, r);
    String imageId = spec != null ? spec.imageId() : request.getImageId();
    RanAs ran = settingsThatRan(spec, r);
    return receipts.sign(
        ran == null ? null : ran.name(),
        ran == null ? null : ran.version(),
        imageId,
        request.getPayload().toByteArray(),
        r);
  }

  /** The function name and version a receipt names. */
  private record RanAs(String name, String version) {}

  /** The deployment the instance ran as (its Start settings), else what its image says. */
  private RanAs settingsThatRan(FunctionSpec spec, InstanceOutcome r) {
    if (!r.instanceId().isEmpty()) {
      try {
        InstanceSettings s = supervisor.settingsOf(r.instanceId());
        return new RanAs(s.name(), s.version());
      } catch (RuntimeException gone) {
        // the instance ended with this call: fall back to the image's own names
      }
    }
    return spec == null ? null : new RanAs(spec.name(), spec.version());
  }

  private FunctionSpec specThatRan(InvokeRequest request, InstanceOutcome r) {
    FunctionSpec spec =
        r.instanceId().isEmpty() ? null : supervisor.specOf(r.instanceId()).orElse(null);
    if (spec == null && request.getTargetCase() == InvokeRequest.TargetCase.IMAGE_ID) {
      spec = catalog.find(request.getImageId()).orElse(null);
    }
    return spec;
  }

  /**
   * Opens a sealed request for the image it targets, in this TD.
   *
   * @throws UnsupportedOperationException when this agent has no sealing key
   */
  private SealedMessages.ServerRequest openSealed(InvokeRequest request)
      throws SealedMessages.SealedMessageException {
    if (sealing == null || receipts == null) {
      throw new UnsupportedOperationException(
          "sealed requests are not available in this agent: it runs without attestation (no"
              + " sealing key bound by a quote)");
    }
    if (!request.getPayload().isEmpty()) {
      throw new IllegalArgumentException(
          "set either payload or sealed_request, not both: a sealed call carries its event only"
              + " sealed");
    }
    int max = AgentLimits.MAX_PAYLOAD_BYTES + SealedMessages.OVERHEAD;
    if (request.getSealedRequest().size() > max) {
      throw new IllegalArgumentException(
          "sealed_request is " + request.getSealedRequest().size() + " bytes; at most " + max
              + " are allowed");
    }
    String imageId =
        switch (request.getTargetCase()) {
          case IMAGE_ID -> spec(request.getImageId(), "image_id").imageId();
          case INSTANCE_ID -> supervisor
              .specOf(request.getInstanceId())
              .orElseThrow(
                  () ->
                      new NoSuchElementException(
                          "no instance " + request.getInstanceId() + " in this agent"))
              .imageId();
          case TARGET_NOT_SET -> throw new IllegalArgumentException(
              "set instance_id or image_id to say where the invocation runs");
        };
    return SealedMessages.open(
        sealing.keyPair(), imageId, receipts.tdId(), request.getSealedRequest().toByteArray());
  }

  /**
   * The reply to a sealed request: the outcome sealed to the caller (the response, or the
   * function's error as JSON), the kind of failure in the clear for the host's retry decisions, and
   * the receipt over the ciphertexts with the plaintexts' MACs.
   */
  private InvokeResponse.Builder sealedResponse(
      InvokeRequest request, InstanceOutcome r, SealedMessages.ServerRequest sealed) {
    byte[] plaintext = r.succeeded() ? r.payload() : errorJson(r.failure());
    byte[] enc = sealed.sealResponse(plaintext);
    InvokeResponse.Builder b =
        InvokeResponse.newBuilder()
            .setRequestId(r.requestId())
            .setInstanceId(r.instanceId())
            .setDurationUs(r.duration().toNanos() / 1000)
            .setSealedResponse(ByteString.copyFrom(enc));
    if (r.succeeded()) {
      b.setPayload(ByteString.EMPTY);
    } else {
      b.setError(
          FunctionError.newBuilder()
              .setKind(FunctionError.Kind.valueOf(r.failure().kind().name()))
              .setType("Sealed")
              .setMessage("the function's error is sealed to the caller, in sealed_response")
              .setExitStatus(r.failure().exitStatus()));
    }
    FunctionSpec spec = specThatRan(request, r);
    String imageId = spec != null ? spec.imageId() : request.getImageId();
    RanAs ran = settingsThatRan(spec, r);
    b.setReceipt(
        receipts.signSealed(
            ran == null ? null : ran.name(),
            ran == null ? null : ran.version(),
            imageId,
            request.getSealedRequest().toByteArray(),
            enc,
            r,
            sealed.plaintextMac(sealed.event()),
            sealed.plaintextMac(plaintext)));
    return b;
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A failure as the Lambda error shape, {@code {"errorType": ..., "errorMessage": ...}}. */
  private static byte[] errorJson(FunctionFailure f) {
    ObjectNode o = JSON.createObjectNode();
    o.put("errorType", f.type());
    o.put("errorMessage", f.message());
    o.put("kind", f.kind().name());
    try {
      return JSON.writeValueAsBytes(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void kill(KillRequest request, StreamObserver<KillResponse> out) {
    try {
      supervisor.signal(request.getInstanceId(), request.getSignal());
      out.onNext(KillResponse.getDefaultInstance());
      out.onCompleted();
    } catch (IllegalArgumentException e) {
      out.onError(Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      out.onError(toStatus(e).asRuntimeException());
    }
  }

  @Override
  public void inspect(InspectRequest request, StreamObserver<InspectResponse> out) {
    InspectResponse.Builder b = InspectResponse.newBuilder().setFinalized(catalog.finalized());
    List<InstanceStatus> instances = supervisor.instances();
    if (!request.getInstanceId().isEmpty()) {
      instances =
          instances.stream().filter(i -> i.instanceId().equals(request.getInstanceId())).toList();
      if (instances.isEmpty()) {
        out.onError(
            Status.NOT_FOUND
                .withDescription("no instance " + request.getInstanceId() + " in this agent")
                .asRuntimeException());
        return;
      }
    }
    List<ImageLoader.ImageStatus> images =
        loader != null && !loader.images().isEmpty()
            ? loader.images()
            : catalog.loaded().stream()
                .map(f -> new ImageLoader.ImageStatus(f.imageId(), List.of(), List.of(), f.maxInstances()))
                .toList();
    for (ImageLoader.ImageStatus image : images) {
      if (request.getInstanceId().isEmpty() || image.imageId().equals(instances.get(0).imageId())) {
        b.addImages(
            ImageInfo.newBuilder()
                .setImageId(image.imageId())
                .addAllLayers(image.layers())
                .addAllMissingLayers(image.missingLayers())
                .setMaxInstances(image.maxInstances()));
      }
    }
    for (InstanceStatus s : instances) {
      b.addInstances(
          InstanceInfo.newBuilder()
              .setInstanceId(s.instanceId())
              .setImageId(s.imageId())
              .setState(InstanceInfo.State.valueOf(s.state().name()))
              .setExitStatus(s.exitStatus())
              .setInvocations(s.invocations())
              .setCurrentRequestId(s.currentRequestId()));
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void streamLogs(
      StreamLogsRequest request, StreamObserver<dev.confaas.agent.v1.LogLine> out) {
    ServerCallStreamObserver<dev.confaas.agent.v1.LogLine> call =
        (ServerCallStreamObserver<dev.confaas.agent.v1.LogLine>) out;
    LogStream stream =
        new LogStream(supervisor.logs(), call, request.getInstanceId(), request.getAfterSequence());
    call.setOnReadyHandler(stream::wake);
    AutoCloseable subscription = supervisor.logs().onAppend(stream::wake);
    call.setOnCancelHandler(
        () -> {
          try {
            subscription.close();
          } catch (Exception ignored) {
            // Removing a listener cannot fail.
          }
        });
    stream.wake(); // the lines already buffered after the caller's cursor
  }

  /**
   * The deployment a Start names: its {@code settings}, where a field is empty the older host's env
   * entry {@code AWS_LAMBDA_FUNCTION_NAME}, {@code _VERSION} or {@code _MEMORY_SIZE}, else the
   * image's default. The rest of {@code env} goes to {@code rest} for the manifest's env rules.
   *
   * @throws IllegalArgumentException naming the setting that is out of its limits
   */
  static InstanceSettings settings(
      FunctionSpec spec, FunctionSettings given, List<String> env, List<String> rest) {
    InstanceSettings image = InstanceSettings.defaults(spec);
    String name = given.getName();
    String version = given.getVersion();
    String memory = given.getMemoryMb() == 0 ? "" : Integer.toString(given.getMemoryMb());
    for (String entry : env) {
      int eq = entry.indexOf('=');
      String key = eq < 0 ? entry : entry.substring(0, eq);
      String value = eq < 0 ? "" : entry.substring(eq + 1);
      switch (key) {
        case "AWS_LAMBDA_FUNCTION_NAME" -> name = name.isEmpty() ? value : name;
        case "AWS_LAMBDA_FUNCTION_VERSION" -> version = version.isEmpty() ? value : version;
        case "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" -> memory = memory.isEmpty() ? value : memory;
        default -> rest.add(entry);
      }
    }
    int mb;
    try {
      mb = memory.isEmpty() ? image.memoryMb() : Integer.parseInt(memory);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "env AWS_LAMBDA_FUNCTION_MEMORY_SIZE \"" + memory + "\" must be a whole number of MB");
    }
    if (given.getTimeoutMs() > Invocation.MAX_TIMEOUT.toMillis()) {
      throw new IllegalArgumentException(
          "settings.timeout_ms " + given.getTimeoutMs() + " is over the maximum of "
              + Invocation.MAX_TIMEOUT.toMillis());
    }
    return new InstanceSettings(
        name.isEmpty() ? image.name() : name,
        version.isEmpty() ? image.version() : version,
        mb,
        given.getTimeoutMs() == 0 ? image.timeout() : Duration.ofMillis(given.getTimeoutMs()));
  }

  private FunctionSpec spec(String imageId, String field) {
    if (imageId.isEmpty()) {
      throw new IllegalArgumentException(field + " is empty; pass an image ID returned by AddManifest");
    }
    return catalog
        .find(imageId)
        .orElseThrow(() -> new NoSuchElementException("no image " + imageId + " is loaded in this TD"));
  }

  private static Invocation invocation(InvokeRequest r, byte[] payload, Duration defaultTimeout) {
    if (payload.length > AgentLimits.MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException(
          "payload is " + payload.length + " bytes; at most " + AgentLimits.MAX_PAYLOAD_BYTES + " are allowed");
    }
    int timeoutMs = r.getTimeoutMs();
    if (timeoutMs > Invocation.MAX_TIMEOUT.toMillis()) {
      throw new IllegalArgumentException(
          "timeout_ms " + timeoutMs + " is over the maximum of " + Invocation.MAX_TIMEOUT.toMillis());
    }
    Duration timeout = timeoutMs == 0 ? defaultTimeout : Duration.ofMillis(timeoutMs);
    String requestId = r.getRequestId().isEmpty() ? UUID.randomUUID().toString() : r.getRequestId();
    return new Invocation(
        payload,
        timeout,
        requestId,
        r.getInvokedFunctionArn(),
        r.getTraceId(),
        r.getClientContext(),
        r.getCognitoIdentity());
  }

  private static InvokeResponse.Builder response(InstanceOutcome r) {
    InvokeResponse.Builder b =
        InvokeResponse.newBuilder()
            .setRequestId(r.requestId())
            .setInstanceId(r.instanceId())
            .setDurationUs(r.duration().toNanos() / 1000);
    if (r.succeeded()) {
      b.setPayload(ByteString.copyFrom(r.payload()));
    } else {
      FunctionFailure f = r.failure();
      b.setError(
          FunctionError.newBuilder()
              .setKind(FunctionError.Kind.valueOf(f.kind().name()))
              .setType(f.type())
              .setMessage(f.message())
              .setExitStatus(f.exitStatus())
              .setDocument(f.document()));
    }
    return b;
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  private static Status toStatus(Throwable e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    if (e instanceof ImageRefusedException refused) {
      return switch (refused.reason()) {
        case MALFORMED, DIGEST_MISMATCH -> Status.INVALID_ARGUMENT.withDescription(message);
        case BAD_SIGNATURE -> Status.PERMISSION_DENIED.withDescription(message);
        case POLICY_CONFLICT, FINALIZED, NOT_REFERENCED, UNRESOLVED_LAYER ->
            Status.FAILED_PRECONDITION.withDescription(message);
      };
    }
    if (e instanceof NoSuchElementException) {
      return Status.NOT_FOUND.withDescription(message);
    }
    if (e instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(message);
    }
    if (e instanceof CapacityExceededException) {
      return Status.RESOURCE_EXHAUSTED.withDescription(message);
    }
    if (e instanceof IllegalStateException) {
      return Status.FAILED_PRECONDITION.withDescription(message);
    }
    return Status.INTERNAL.withDescription("the agent failed: " + message);
  }
}
