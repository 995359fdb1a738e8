package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.v1.AddBlobChunk;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.FinalizeRequest;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AddManifest, the AddBlob stream and Finalize through the gRPC API, over a real loader and channel. */
class ImageLoadingApiTest {
  @TempDir Path tmp;
  private InstanceSupervisor supervisor;
  private Server server;
  private ManagedChannel channel;
  private TdAgentGrpc.TdAgentBlockingStub agent;
  private KeyPair signer;
  private final byte[] layer = new byte[2_500_000]; // three chunks of up to 1 MiB
  private String layerDigest;

  @BeforeEach
  void start() throws Exception {
    new Random(42).nextBytes(layer);
    layerDigest = "sha384/" + SimpleImageLoader.sha384(layer);
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    signer = g.generateKeyPair();
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
            .addService(new TdAgentService(supervisor, new SimpleImageLoader(), null))
            .build()
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    agent = TdAgentGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    supervisor.close();
  }

  private AddManifestRequest signed(String manifest) throws Exception {
    byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
    Signature s = Signature.getInstance("SHA384withECDSA");
    s.initSign(signer.getPrivate());
    s.update(m);
    return AddManifestRequest.newBuilder()
        .setManifest(ByteString.copyFrom(m))
        .setSignature(ByteString.copyFrom(s.sign()))
        .setCertificate(ByteString.copyFrom(signer.getPublic().getEncoded()))
        .build();
  }

  /** Streams chunks and returns the outcome. */
  private CompletableFuture<AddBlobResponse> upload(List<AddBlobChunk> chunks) {
    CompletableFuture<AddBlobResponse> result = new CompletableFuture<>();
    StreamObserver<AddBlobChunk> in =
        TdAgentGrpc.newStub(channel)
            .withDeadlineAfter(60, TimeUnit.SECONDS)
            .addBlob(
                new StreamObserver<>() {
                  @Override
                  public void onNext(AddBlobResponse r) {
                    result.complete(r);
                  }

                  @Override
                  public void onError(Throwable t) {
                    result.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    chunks.forEach(in::onNext);
    in.onCompleted();
    return result;
  }

  private List<AddBlobChunk> chunksOf(String digest, byte[] data, int chunkSize) {
    List<AddBlobChunk> chunks = new java.util.ArrayList<>();
    for (int off = 0; off < data.length; off += chunkSize) {
      AddBlobChunk.Builder b =
          AddBlobChunk.newBuilder()
              .setData(ByteString.copyFrom(Arrays.copyOfRange(data, off, Math.min(data.length, off + chunkSize))));
      if (off == 0) {
        b.setDigest(digest).setTotalSize(data.length);
      }
      chunks.add(b.build());
    }
    return chunks;
  }

  private static Status statusOf(CompletableFuture<?> f) {
    Throwable t = assertThrows(Exception.class, () -> f.get(60, TimeUnit.SECONDS)).getCause();
    return Status.fromThrowable(t);
  }

  @Test
  void aManifestThenItsLayerInChunks() throws Exception {
    AddManifestResponse added = agent.addManifest(signed("{\"layers\":[\"" + layerDigest + "\"]}"));
    assertEquals(List.of(layerDigest), added.getMissingLayersList());
    assertFalse(added.getAlreadyLoaded());

    AddBlobResponse stored = upload(chunksOf(layerDigest, layer, 1024 * 1024)).get(60, TimeUnit.SECONDS);
    assertEquals(layerDigest, stored.getDigest());
    assertEquals(layer.length, stored.getSize());

    AddManifestResponse again = agent.addManifest(signed("{\"layers\":[\"" + layerDigest + "\"]}"));
    assertTrue(again.getAlreadyLoaded());
    assertEquals(List.of(), again.getMissingLayersList(), "the layer is held now");
  }

  @Test
  void refusalsCarryTheRightStatusAndSayWhy() throws Exception {
    AddManifestRequest good = signed("{\"layers\":[\"" + layerDigest + "\"]}");
    AddManifestRequest tampered =
        good.toBuilder().setManifest(ByteString.copyFromUtf8("{\"layers\":[]}")).build();
    StatusRuntimeException badSig = assertThrows(StatusRuntimeException.class, () -> agent.addManifest(tampered));
    assertEquals(Status.Code.PERMISSION_DENIED, badSig.getStatus().getCode());

    Status unreferenced = statusOf(upload(chunksOf(layerDigest, layer, 1024 * 1024)));
    assertEquals(Status.Code.FAILED_PRECONDITION, unreferenced.getCode());
    assertTrue(unreferenced.getDescription().contains("references"), unreferenced.getDescription());

    agent.addManifest(good);
    byte[] corrupt = layer.clone();
    corrupt[12345] ^= 1;
    Status mismatch = statusOf(upload(chunksOf(layerDigest, corrupt, 1024 * 1024)));
    assertEquals(Status.Code.INVALID_ARGUMENT, mismatch.getCode());
    assertTrue(mismatch.getDescription().contains("hash to"), mismatch.getDescription());

    List<AddBlobChunk> chunks = chunksOf(layerDigest, layer, 1024 * 1024);
    Status truncated = statusOf(upload(chunks.subList(0, 2)));
    assertEquals(Status.Code.INVALID_ARGUMENT, truncated.getCode());
    assertTrue(truncated.getDescription().contains("ended after"), truncated.getDescription());

    Status oversizedChunk = statusOf(upload(chunksOf(layerDigest, layer, 2 * 1024 * 1024)));
    assertTrue(oversizedChunk.getDescription().contains("chunks carry 1 to"), oversizedChunk.getDescription());

    Status badDigest = statusOf(upload(chunksOf("sha256/abc", layer, 1024 * 1024)));
    assertTrue(badDigest.getDescription().contains("96 lowercase hex"), badDigest.getDescription());

    agent.finalize(FinalizeRequest.getDefaultInstance());
    StatusRuntimeException late =
        assertThrows(StatusRuntimeException.class, () -> agent.addManifest(signed("{\"layers\":[]}")));
    assertEquals(Status.Code.FAILED_PRECONDITION, late.getStatus().getCode());
    assertTrue(late.getStatus().getDescription().contains("finalized"), late.getMessage());

    StatusRuntimeException noReport =
        assertThrows(
            StatusRuntimeException.class,
            () -> agent.report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(new byte[32])).build()));
    assertEquals(Status.Code.UNIMPLEMENTED, noReport.getStatus().getCode());
  }
}
