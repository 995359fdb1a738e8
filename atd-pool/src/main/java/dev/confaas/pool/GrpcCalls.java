package dev.confaas.pool;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** Small adapters between gRPC's async stubs and futures, shared by the pool and the scheduler. */
public final class GrpcCalls {
  private GrpcCalls() {}

  /** An observer that completes {@code f} with the single response of a unary call. */
  public static <T> StreamObserver<T> unary(CompletableFuture<T> f) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        f.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        f.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        f.complete(null);
      }
    };
  }

  /** The status code of a gRPC failure. */
  public static Status.Code code(Throwable t) {
    return Status.fromThrowable(t).getCode();
  }

  /** The status code and description of a gRPC failure, e.g. {@code FAILED_PRECONDITION (policy: ...)}. */
  public static String describe(Throwable t) {
    Status s = Status.fromThrowable(t);
    return s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
  }
}
