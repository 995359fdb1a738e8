package dev.confaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.v1.AddBlobChunk;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.StartResponse;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link AgentClient} against a real gRPC server on loopback serving a scripted agent: deadlines,
 * which calls are retried, and how every failure is classified.
 */
class AgentClientTest {
  /** Short deadlines and back-off, so the tests that wait for a deadline take a fraction of a second. */
  private static final AgentClientConfig FAST =
      AgentClientConfig.DEFAULTS
          .withStart(Duration.ofMillis(300))
          .withInspect(Duration.ofSeconds(5))
          .withReport(Duration.ofSeconds(5))
          .withRetries(3, Duration.ofMillis(20));

  private final ScriptedAgent agent = new ScriptedAgent();
  private Server server;
  private ManagedChannel channel;
  private AgentClient client;

  @BeforeEach
  void serve() throws IOException {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
            .addService(agent)
            .build()
            .start();
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
            .usePlaintext()
            .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
            .build();
    client = new AgentClient(channel, FAST);
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void inspectIsRetriedWhileTheAgentIsUnavailable() throws Exception {
    agent.inspectFailures.set(2);
    InspectResponse r = client.inspect(InspectRequest.getDefaultInstance()).get(10, TimeUnit.SECONDS);
    assertTrue(r.getFinalized(), "the third attempt's answer should come back");
    assertEquals(3, agent.inspectCalls.get(), "two UNAVAILABLE answers, then success");
  }

  @Test
  void inspectGivesUpAfterItsAttemptsAsALostTransport() {
    agent.inspectFailures.set(100);
    AgentCallException e = failure(client.inspect(InspectRequest.getDefaultInstance()));
    assertEquals(AgentCallException.Kind.TRANSPORT_LOST, e.kind());
    assertEquals(Status.Code.UNAVAILABLE, e.code());
    assertEquals("Inspect", e.call());
    assertEquals(3, agent.inspectCalls.get(), "readAttempts is 3");
  }

  @Test
  void reportIsRetriedOnlyWhenUnavailable() {
    agent.reportStatus = Status.INTERNAL.withDescription("the TDX module failed");
    AgentCallException e =
        failure(client.report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(new byte[32])).build()));
    assertEquals(AgentCallException.Kind.INTERNAL, e.kind());
    assertEquals(1, agent.reportCalls.get(), "an INTERNAL answer is the agent's, not the transport's");
  }

  @Test
  void invokeIsNeverRetried() {
    agent.invokeStatus = Status.UNAVAILABLE.withDescription("connection reset");
    AgentCallException e = failure(client.invoke(invoke(), Duration.ofSeconds(5)));
    assertEquals(AgentCallException.Kind.TRANSPORT_LOST, e.kind());
    assertEquals(1, agent.invokeCalls.get(), "the function may have run: Invoke is sent once");
  }

  @Test
  void invokeEndsAtTheDeadlineItWasGiven() {
    agent.invokeHangs = true;
    long t0 = System.nanoTime();
    AgentCallException e = failure(client.invoke(invoke(), Duration.ofMillis(200)));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
    assertEquals(AgentCallException.Kind.TRANSPORT_LOST, e.kind());
    assertTrue(ms >= 150 && ms < 5_000, "the call ended after " + ms + " ms, not at its 200 ms deadline");
    assertEquals(1, agent.invokeCalls.get());
  }

  @Test
  void startEndsAtTheConfiguredStartDeadlineAndIsNotRetried() {
    agent.startHangs = true;
    long t0 = System.nanoTime();
    AgentCallException e = failure(client.start(StartRequest.newBuilder().setImageId("img").build()));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
    assertTrue(ms >= 250 && ms < 5_000, "Start ended after " + ms + " ms, its deadline is 300 ms");
    assertEquals(1, agent.startCalls.get());
  }

  @Test
  void everyStatusMapsToOneKindAndDescribesItself() {
    record Case(Status status, AgentCallException.Kind kind) {}
    List<Case> cases =
        List.of(
            new Case(Status.INVALID_ARGUMENT.withDescription("env entry 3 is too long"), AgentCallException.Kind.REFUSED),
            new Case(
                Status.FAILED_PRECONDITION.withDescription("policy: image B does not accept A"),
                AgentCallException.Kind.REFUSED),
            new Case(Status.PERMISSION_DENIED.withDescription("bad signature"), AgentCallException.Kind.REFUSED),
            new Case(Status.RESOURCE_EXHAUSTED.withDescription("maxInstances 2 reached"), AgentCallException.Kind.BUSY),
            new Case(Status.NOT_FOUND.withDescription("no image X"), AgentCallException.Kind.NOT_FOUND),
            new Case(Status.INTERNAL.withDescription("disk full"), AgentCallException.Kind.INTERNAL),
            new Case(Status.UNKNOWN.withDescription("the agent threw"), AgentCallException.Kind.TRANSPORT_LOST),
            new Case(Status.UNIMPLEMENTED.withDescription("no StreamLogs here"), AgentCallException.Kind.UNSUPPORTED));
    for (Case c : cases) {
      agent.manifestStatus = c.status();
      AgentCallException e = failure(client.addManifest(AddManifestRequest.getDefaultInstance()));
      assertEquals(c.kind(), e.kind(), c.status().toString());
      assertEquals(c.status().getCode(), e.code());
      assertEquals(c.status().getCode() + ": " + c.status().getDescription(), e.describe());
      assertEquals("AddManifest failed: " + e.describe(), e.getMessage());
    }
    assertEquals(cases.size(), agent.manifestCalls.get(), "AddManifest is never retried");
  }

  @Test
  void anUnimplementedCallIsUnsupported() {
    AgentCallException e = failure(client.finalizeTd());
    assertEquals(AgentCallException.Kind.UNSUPPORTED, e.kind());
    assertTrue(e.describe().startsWith("UNIMPLEMENTED"), e.describe());
  }

  @Test
  void aBlobIsStreamedInChunksWithItsDigestFirstAndTheStreamClosed() throws Exception {
    byte[] blob = new byte[AgentLimits.MAX_CHUNK_BYTES * 2 + 12345];
    new Random(7).nextBytes(blob);
    ClosingStream in = new ClosingStream(blob);
    AddBlobResponse r = client.addBlob("sha384/abc", blob.length, in).get(30, TimeUnit.SECONDS);
    assertEquals("sha384/abc", r.getDigest());
    assertEquals(blob.length, r.getSize());
    assertArrayEquals(blob, agent.received.toByteArray(), "the agent got other bytes than the blob");
    assertEquals(
        List.of("sha384/abc", "", ""), agent.chunkDigests, "the digest belongs in the first chunk only");
    assertTrue(in.closed.get(), "the blob's stream was left open");
  }

  @Test
  void aRefusedBlobFailsTheUploadAndClosesTheStream() {
    agent.blobStatus = Status.FAILED_PRECONDITION.withDescription("no manifest references sha384/abc");
    byte[] blob = new byte[AgentLimits.MAX_CHUNK_BYTES * 8];
    ClosingStream in = new ClosingStream(blob);
    AgentCallException e = failure(client.addBlob("sha384/abc", blob.length, in));
    assertEquals(AgentCallException.Kind.REFUSED, e.kind());
    assertEquals("FAILED_PRECONDITION: no manifest references sha384/abc", e.describe());
    assertTrue(in.closed.get(), "the blob's stream was left open");
  }

  @Test
  void anUnreadableBlobCancelsTheUploadWithTheReadError() {
    InputStream broken =
        new InputStream() {
          @Override
          public int read() throws IOException {
            throw new IOException("disk went away");
          }
        };
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () -> client.addBlob("sha384/abc", 10, broken).get(10, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof java.io.UncheckedIOException, e.getCause().toString());
    assertTrue(e.getCause().getMessage().contains("sha384/abc"), e.getCause().getMessage());
  }

  private static InvokeRequest invoke() {
    return InvokeRequest.newBuilder().setImageId("img").setPayload(ByteString.copyFromUtf8("{}")).build();
  }

  private static AgentCallException failure(CompletableFuture<?> call) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof AgentCallException, "not an AgentCallException: " + e.getCause());
    return (AgentCallException) e.getCause();
  }

  private static final class ClosingStream extends ByteArrayInputStream {
    final AtomicBoolean closed = new AtomicBoolean();

    ClosingStream(byte[] data) {
      super(data);
    }

    @Override
    public void close() throws IOException {
      closed.set(true);
      super.close();
    }
  }

  /** An agent whose answers each test scripts; Finalize and StreamLogs stay unimplemented. */
  private static final class ScriptedAgent extends TdAgentGrpc.TdAgentImplBase {
    final AtomicInteger inspectFailures = new AtomicInteger();
    final AtomicInteger inspectCalls = new AtomicInteger();
    final AtomicInteger reportCalls = new AtomicInteger();
    final AtomicInteger invokeCalls = new AtomicInteger();
    final AtomicInteger startCalls = new AtomicInteger();
    final AtomicInteger manifestCalls = new AtomicInteger();
    volatile Status reportStatus;
    volatile Status invokeStatus;
    volatile Status manifestStatus;
    volatile Status blobStatus;
    volatile boolean invokeHangs;
    volatile boolean startHangs;
    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    final List<String> chunkDigests = new ArrayList<>();

    @Override
    public void inspect(InspectRequest request, StreamObserver<InspectResponse> out) {
      inspectCalls.incrementAndGet();
      if (inspectFailures.getAndDecrement() > 0) {
        out.onError(Status.UNAVAILABLE.withDescription("agent restarting").asRuntimeException());
        return;
      }
      out.onNext(InspectResponse.newBuilder().setFinalized(true).build());
      out.onCompleted();
    }

    @Override
    public void report(ReportRequest request, StreamObserver<ReportResponse> out) {
      reportCalls.incrementAndGet();
      out.onError(reportStatus.asRuntimeException());
    }

    @Override
    public void invoke(InvokeRequest request, StreamObserver<InvokeResponse> out) {
      invokeCalls.incrementAndGet();
      if (!invokeHangs) {
        out.onError(invokeStatus.asRuntimeException());
      }
    }

    @Override
    public void start(StartRequest request, StreamObserver<StartResponse> out) {
      startCalls.incrementAndGet();
      if (!startHangs) {
        out.onNext(StartResponse.newBuilder().setInstanceId("i-1").build());
        out.onCompleted();
      }
    }

    @Override
    public void addManifest(AddManifestRequest request, StreamObserver<AddManifestResponse> out) {
      manifestCalls.incrementAndGet();
      out.onError(manifestStatus.asRuntimeException());
    }

    @Override
    public StreamObserver<AddBlobChunk> addBlob(StreamObserver<AddBlobResponse> out) {
      return new StreamObserver<>() {
        boolean answered;

        @Override
        public void onNext(AddBlobChunk chunk) {
          if (answered) {
            return;
          }
          if (blobStatus != null) {
            answered = true;
            out.onError(blobStatus.asRuntimeException());
            return;
          }
          synchronized (received) {
            chunkDigests.add(chunk.getDigest());
            received.writeBytes(chunk.getData().toByteArray());
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          if (!answered) {
            out.onNext(
                AddBlobResponse.newBuilder()
                    .setDigest(chunkDigests.get(0))
                    .setSize(received.size())
                    .build());
            out.onCompleted();
          }
        }
      };
    }
  }
}
