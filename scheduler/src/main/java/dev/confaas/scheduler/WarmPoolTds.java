package dev.confaas.scheduler;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.KillRequest;
import dev.confaas.image.ImageRepository;
import dev.confaas.pool.PooledTd;
import dev.confaas.pool.WarmPool;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link TdSource}: TDs from the {@link WarmPool}, their agents through each TD's {@code
 * AgentClient} (over the channel pinned to its attested key). The only place in the scheduler (with
 * {@link AgentLoader}) that speaks the agent's protocol or maps its failures.
 */
final class WarmPoolTds implements TdSource {
  private static final Logger log = LoggerFactory.getLogger(WarmPoolTds.class);
  private static final int SIGTERM = 15;

  private final WarmPool pool;
  private final AgentLoader loader;
  private final Duration invokeGrace;

  /**
   * @param callTimeout limit for each load and start call
   * @param invokeGrace added to a function's timeout for the Invoke call's deadline; past it the
   *     call fails as {@link CallFailed.Kind#TIMED_OUT} (a TD whose process exited: TD_LOST)
   */
  WarmPoolTds(WarmPool pool, ImageRepository repository, Duration callTimeout, Duration invokeGrace) {
    this.pool = pool;
    this.loader = new AgentLoader(repository, callTimeout);
    this.invokeGrace = invokeGrace;
  }

  @Override
  public CompletableFuture<LeasedTd> acquire() {
    return pool.acquire().thenApply(Lease::new);
  }

  @Override
  public java.util.Optional<LeasedTd> acquire(String tdId) {
    return pool.acquire(tdId).map(Lease::new);
  }

  @Override
  public void release(LeasedTd td) {
    pool.release(((Lease) td).pooled);
  }

  @Override
  public void retire(LeasedTd td, String reason) {
    pool.retire(((Lease) td).pooled, reason);
  }

  @Override
  public int maxImagesPerTd() {
    return pool.config().maxImagesPerTd();
  }

  private final class Lease implements LeasedTd, TdAgent {
    final PooledTd pooled;

    Lease(PooledTd pooled) {
      this.pooled = pooled;
    }

    @Override
    public String id() {
      return pooled.id();
    }

    @Override
    public List<String> heldImages() {
      return pooled.loadedImages();
    }

    @Override
    public boolean isAlive() {
      return pooled.isAlive();
    }

    @Override
    public boolean acceptsWork() {
      return pooled.acceptsWork();
    }

    @Override
    public TdAgent agent() {
      return this;
    }

    /** Serialised per TD, so two starts on one TD do not send the same manifest twice. */
    @Override
    public synchronized int loadChain(List<ImageFacts> chain) throws Refused {
      int measured = 0;
      for (ImageFacts image : chain) {
        if (!pooled.loadedImages().contains(image.imageId())) {
          try {
            if (loader.load(pooled.agent(), image)) {
              measured++;
            }
          } catch (AgentLoader.MeasuredThenRefused e) {
            // Issue 11: RTMR3 now names an image this TD will not run; the pool drains it.
            pooled.refusedAfterMeasuring(image.imageId(), e.getMessage());
            throw new Refused(e.getMessage() + "; TD " + pooled.id() + " measured the image and is"
                + " drained", e);
          }
          pooled.recordLoaded(image.imageId());
        }
      }
      return measured;
    }

    @Override
    public String start(String imageId, DeployedFunction deployment) throws Refused {
      try {
        return loader.start(pooled.agent(), imageId, deployment);
      } catch (IOException e) {
        throw new Refused("Start of " + imageId + " failed: " + e.getMessage(), e);
      }
    }

    @Override
    public CompletableFuture<Reply> invoke(String instanceId, InvocationRequest request, Duration timeout) {
      InvokeRequest.Builder b = InvokeRequest.newBuilder().setInstanceId(instanceId);
      if (request.isSealed()) {
        b.setSealedRequest(ByteString.copyFrom(request.sealedRequest()));
      } else {
        b.setPayload(ByteString.copyFrom(request.payload()));
      }
      InvokeRequest req =
          b
              .setTimeoutMs((int) timeout.toMillis())
              .setRequestId(request.requestId())
              .setTraceId(request.traceId())
              .setClientContext(request.clientContext())
              .setCognitoIdentity(request.cognitoIdentity())
              .build();
      CompletableFuture<Reply> out = new CompletableFuture<>();
      pooled.agent().invoke(req, timeout.plus(invokeGrace)).whenComplete(
          (r, err) -> {
            if (err != null) {
              out.completeExceptionally(failure(err, request.isSealed()));
            } else {
              FunctionError error = r.hasError() ? toError(r.getError()) : null;
              byte[] sealed = request.isSealed() ? r.getSealedResponse().toByteArray() : null;
              out.complete(
                  new Reply(
                      r.getRequestId().isEmpty() ? request.requestId() : r.getRequestId(),
                      error != null ? null : sealed != null ? sealed : r.getPayload().toByteArray(),
                      error,
                      r.getInstanceId().isEmpty() ? instanceId : r.getInstanceId(),
                      Duration.ofNanos(r.getDurationUs() * 1000),
                      r.getReceipt(),
                      sealed));
            }
          });
      return out;
    }

    private CallFailed failure(Throwable err, boolean sealed) {
      AgentCallException e = AgentCallException.from(err);
      // A deadline that passed on a TD whose process runs is load, not loss (issue 11, defect 7):
      // health checks judge liveness; this call only gives up its instance.
      CallFailed.Kind kind =
          !pooled.isAlive()
              ? CallFailed.Kind.TD_LOST
              : e.code() == io.grpc.Status.Code.DEADLINE_EXCEEDED
                  ? CallFailed.Kind.TIMED_OUT
                  : e.kind() == AgentCallException.Kind.TRANSPORT_LOST
                      ? CallFailed.Kind.TD_LOST
              : sealed && e.code() == io.grpc.Status.Code.PERMISSION_DENIED
                  ? CallFailed.Kind.SEALED_REFUSED
                  : e.code() == io.grpc.Status.Code.INVALID_ARGUMENT || e.kind() == AgentCallException.Kind.BUSY
                      ? CallFailed.Kind.REFUSED
                      : CallFailed.Kind.INSTANCE_GONE;
      return new CallFailed(kind, e.describe(), err);
    }

    @Override
    public CompletableFuture<Void> kill(String instanceId) {
      CompletableFuture<?> f =
          pooled
              .agent()
              .kill(KillRequest.newBuilder().setInstanceId(instanceId).setSignal(SIGTERM).build());
      // A manifest that does not list SIGTERM in `signals` keeps its instance until the TD stops; the
      // TD goes back to the pool (and is retired) once it has no instances, so nothing leaks for long.
      return f.handle(
          (ok, err) -> {
            if (err != null) {
              log.debug(
                  "instance {} on {} not signalled: {}",
                  instanceId,
                  pooled.id(),
                  AgentCallException.from(err).describe());
            }
            return null;
          });
    }
  }

  private static FunctionError toError(dev.confaas.agent.v1.FunctionError e) {
    FunctionError.Kind kind =
        switch (e.getKind()) {
          case HANDLED -> FunctionError.Kind.HANDLED;
          case TIMED_OUT -> FunctionError.Kind.TIMED_OUT;
          case INIT_FAILED -> FunctionError.Kind.INIT_FAILED;
          case RESPONSE_TOO_LARGE -> FunctionError.Kind.RESPONSE_TOO_LARGE;
          default -> FunctionError.Kind.CRASHED;
        };
    return new FunctionError(kind, e.getType(), e.getMessage(), e.getExitStatus(), e.getDocument());
  }
}
