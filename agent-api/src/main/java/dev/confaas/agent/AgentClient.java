package dev.confaas.agent;

import com.google.protobuf.ByteString;
import dev.confaas.agent.v1.AddBlobChunk;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.FinalizeRequest;
import dev.confaas.agent.v1.FinalizeResponse;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.KillRequest;
import dev.confaas.agent.v1.KillResponse;
import dev.confaas.agent.v1.LogLine;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.StartResponse;
import dev.confaas.agent.v1.StreamLogsRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.Channel;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The host's one client of a TD's agent (agent.proto), over a channel the caller owns (for an
 * attested TD, the one pinned to its identity key). Every call is asynchronous and returns a future
 * that fails with an {@link AgentCallException}; nothing here blocks, so a caller on an event loop
 * may chain on the futures, and a caller on a worker may {@code join()} them.
 *
 * <p>Each call has a deadline by kind ({@link AgentClientConfig}); Invoke's is given per call.
 * Only the read-only calls, Inspect and Report, are retried, and only when the transport was
 * UNAVAILABLE, within their deadline: the others change the TD, and a lost answer does not say
 * whether they took effect.
 */
public final class AgentClient {
  private final TdAgentGrpc.TdAgentStub stub;
  private final AgentClientConfig config;

  /** A client with {@link AgentClientConfig#DEFAULTS}. */
  public AgentClient(Channel channel) {
    this(channel, AgentClientConfig.DEFAULTS);
  }

  public AgentClient(Channel channel, AgentClientConfig config) {
    this(TdAgentGrpc.newStub(Objects.requireNonNull(channel, "channel")), config);
  }

  private AgentClient(TdAgentGrpc.TdAgentStub stub, AgentClientConfig config) {
    this.stub = stub;
    this.config = Objects.requireNonNull(config, "config");
  }

  public AgentClientConfig config() {
    return config;
  }

  /** A client on the same channel with other deadlines or retries. */
  public AgentClient withConfig(AgentClientConfig other) {
    return new AgentClient(stub, other);
  }

  /** Verifies, policy-checks and measures a signed manifest. Not retried. */
  public CompletableFuture<AddManifestResponse> addManifest(AddManifestRequest request) {
    return unary("AddManifest", config.load(), 1, request, TdAgentGrpc.TdAgentStub::addManifest);
  }

  /**
   * Streams one layer blob in chunks of {@link AgentLimits#MAX_CHUNK_BYTES}, as fast as the agent
   * takes them (gRPC flow control: chunks are read from {@code data} only when the call can send).
   * {@code data} is read on gRPC's executor and closed when the call ends. Not retried.
   *
   * @param digest {@code sha384/<hex>} of the whole blob
   * @param totalSize the blob's size in bytes; the agent refuses a stream that does not add up
   * @return the agent's answer; fails with {@link AgentCallException}, or with {@link
   *     UncheckedIOException} when {@code data} could not be read (the call is then cancelled)
   */
  public CompletableFuture<AddBlobResponse> addBlob(String digest, long totalSize, InputStream data) {
    Objects.requireNonNull(digest, "digest");
    Objects.requireNonNull(data, "data");
    BlobUpload upload = new BlobUpload(digest, totalSize, data);
    try {
      stub.withDeadline(deadline(config.load())).addBlob(upload);
    } catch (RuntimeException e) {
      upload.fail(AgentCallException.of("AddBlob", e));
    }
    return upload.out;
  }

  /** Closes the TD to new manifests. Not retried. */
  public CompletableFuture<FinalizeResponse> finalizeTd() {
    return unary(
        "Finalize",
        config.load(),
        1,
        FinalizeRequest.getDefaultInstance(),
        TdAgentGrpc.TdAgentStub::finalize);
  }

  /** Starts an instance of a loaded image. Not retried: a lost answer may hide a started instance. */
  public CompletableFuture<StartResponse> start(StartRequest request) {
    return unary("Start", config.start(), 1, request, TdAgentGrpc.TdAgentStub::start);
  }

  /**
   * Sends one event and waits for the function's outcome. Never retried: the function may have run.
   *
   * @param deadline the whole call's limit: the function's timeout plus a grace for the transport
   *     and the agent, so that a function timing out comes back as an {@code InvokeResponse.error}
   *     and not as DEADLINE_EXCEEDED
   */
  public CompletableFuture<InvokeResponse> invoke(InvokeRequest request, Duration deadline) {
    return unary("Invoke", deadline, 1, request, TdAgentGrpc.TdAgentStub::invoke);
  }

  /** Signals an instance. Not retried. */
  public CompletableFuture<KillResponse> kill(KillRequest request) {
    return unary("Kill", config.control(), 1, request, TdAgentGrpc.TdAgentStub::kill);
  }

  /** Describes the TD's images and instances. Retried on UNAVAILABLE. */
  public CompletableFuture<InspectResponse> inspect(InspectRequest request) {
    return unary(
        "Inspect", config.inspect(), config.readAttempts(), request, TdAgentGrpc.TdAgentStub::inspect);
  }

  /** Asks for a quote over the request's nonce. Retried on UNAVAILABLE (a quote changes nothing). */
  public CompletableFuture<ReportResponse> report(ReportRequest request) {
    return unary(
        "Report", config.report(), config.readAttempts(), request, TdAgentGrpc.TdAgentStub::report);
  }

  /**
   * Receives one StreamLogs call. Methods are called one at a time on gRPC's executor and must not
   * block: the next line is requested from the agent only once {@link #line} returns, so a slow
   * listener slows the stream (the agent then drops its oldest lines, never the function's time).
   */
  public interface LogListener {
    /** The next line; {@link LogLine#getDropped()} says how many were lost just before it. */
    void line(LogLine line);

    /**
     * The stream ended without the caller closing it: the agent completed it ({@code failure} is
     * {@code null}) or it failed (channel lost, TD gone). Not called after {@link LogStream#close()}.
     */
    void ended(AgentCallException failure);
  }

  /** A StreamLogs call in progress; closing it cancels the call. */
  public interface LogStream extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Follows the TD's shareable output lines (agent.proto StreamLogs) until closed. No deadline: the
   * call lasts as long as the TD, and the channel's keep-alive notices a TD that vanished. Inbound
   * flow control is by line: a few are requested ahead, one more as each is handled.
   */
  public LogStream streamLogs(StreamLogsRequest request, LogListener listener) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(listener, "listener");
    LogCall call = new LogCall(listener);
    try {
      stub.streamLogs(request, call);
    } catch (RuntimeException e) {
      listener.ended(AgentCallException.of("StreamLogs", e));
    }
    return call;
  }

  /** Lines requested from the agent ahead of the one being handled. */
  private static final int LOG_PREFETCH = 32;

  private static final class LogCall implements ClientResponseObserver<StreamLogsRequest, LogLine>, LogStream {
    private final LogListener listener;
    private volatile ClientCallStreamObserver<StreamLogsRequest> call;
    private volatile boolean closed;

    LogCall(LogListener listener) {
      this.listener = listener;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamLogsRequest> c) {
      call = c;
      c.disableAutoRequestWithInitial(LOG_PREFETCH);
    }

    @Override
    public void onNext(LogLine value) {
      try {
        listener.line(value);
      } finally {
        call.request(1);
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!closed) {
        listener.ended(AgentCallException.of("StreamLogs", t));
      }
    }

    @Override
    public void onCompleted() {
      if (!closed) {
        listener.ended(null);
      }
    }

    @Override
    public void close() {
      closed = true;
      ClientCallStreamObserver<StreamLogsRequest> c = call;
      if (c != null) {
        c.cancel("the host stopped following the TD's logs", null);
      }
    }
  }

  @FunctionalInterface
  private interface UnaryCall<Q, R> {
    void send(TdAgentGrpc.TdAgentStub stub, Q request, StreamObserver<R> responses);
  }

  private <Q, R> CompletableFuture<R> unary(
      String name, Duration limit, int attempts, Q request, UnaryCall<Q, R> call) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(limit, "deadline");
    if (limit.isNegative() || limit.isZero()) {
      throw new IllegalArgumentException(name + " deadline must be positive, got " + limit);
    }
    CompletableFuture<R> out = new CompletableFuture<>();
    attempt(name, deadline(limit), attempts, 1, request, call, out);
    return out;
  }

  private <Q, R> void attempt(
      String name,
      Deadline deadline,
      int attempts,
      int attempt,
      Q request,
      UnaryCall<Q, R> call,
      CompletableFuture<R> out) {
    StreamObserver<R> responses =
        new StreamObserver<>() {
          @Override
          public void onNext(R value) {
            out.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            long waitNanos = backoffNanos(attempt);
            if (attempt < attempts
                && Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE
                && deadline.timeRemaining(TimeUnit.NANOSECONDS) > waitNanos) {
              CompletableFuture.delayedExecutor(waitNanos, TimeUnit.NANOSECONDS)
                  .execute(() -> attempt(name, deadline, attempts, attempt + 1, request, call, out));
            } else {
              out.completeExceptionally(AgentCallException.of(name, t));
            }
          }

          @Override
          public void onCompleted() {
            if (!out.isDone()) {
              out.completeExceptionally(
                  AgentCallException.of(
                      name,
                      Status.INTERNAL
                          .withDescription("the agent closed the call without an answer")
                          .asRuntimeException()));
            }
          }
        };
    try {
      call.send(stub.withDeadline(deadline), request, responses);
    } catch (RuntimeException e) {
      out.completeExceptionally(AgentCallException.of(name, e));
    }
  }

  private long backoffNanos(int attempt) {
    return config.readBackoff().toNanos() << Math.min(attempt - 1, 20);
  }

  private static Deadline deadline(Duration limit) {
    return Deadline.after(limit.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // the blob was read (or the call failed) already; a failing close changes neither
    }
  }

  /**
   * Sends chunks whenever the call is ready; gRPC runs these callbacks one at a time. The stream is
   * closed before the future completes, so a caller that sees the outcome may reuse the file.
   */
  private static final class BlobUpload implements ClientResponseObserver<AddBlobChunk, AddBlobResponse> {
    private final String digest;
    private final long totalSize;
    private final InputStream data;
    final CompletableFuture<AddBlobResponse> out = new CompletableFuture<>();
    private final byte[] buffer = new byte[AgentLimits.MAX_CHUNK_BYTES];
    private ClientCallStreamObserver<AddBlobChunk> requests;
    private boolean first = true;
    private boolean sent;

    BlobUpload(String digest, long totalSize, InputStream data) {
      this.digest = digest;
      this.totalSize = totalSize;
      this.data = data;
    }

    void fail(Throwable t) {
      closeQuietly(data);
      out.completeExceptionally(t);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<AddBlobChunk> call) {
      requests = call;
      call.setOnReadyHandler(this::pump);
    }

    private void pump() {
      try {
        while (!sent && !out.isDone() && requests.isReady()) {
          int n = data.readNBytes(buffer, 0, buffer.length);
          if (n <= 0 && !first) {
            sent = true;
            requests.onCompleted();
            return;
          }
          AddBlobChunk.Builder chunk = AddBlobChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, n));
          if (first) {
            chunk.setDigest(digest).setTotalSize(totalSize);
            first = false;
          }
          requests.onNext(chunk.build());
        }
      } catch (IOException e) {
        sent = true;
        fail(new UncheckedIOException("cannot read blob " + digest + " to upload it", e));
        requests.cancel("the host could not read the blob", e);
      }
    }

    @Override
    public void onNext(AddBlobResponse value) {
      closeQuietly(data);
      out.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      fail(AgentCallException.of("AddBlob", t));
    }

    @Override
    public void onCompleted() {
      if (!out.isDone()) {
        fail(
            AgentCallException.of(
                "AddBlob",
                Status.INTERNAL
                    .withDescription("the agent closed the upload without an answer")
                    .asRuntimeException()));
      }
    }
  }
}
