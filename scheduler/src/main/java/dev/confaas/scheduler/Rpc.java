package dev.confaas.scheduler;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** Adapters between gRPC's async stubs and futures. */
final class Rpc {
  private Rpc() {}

  static <T> StreamObserver<T> unary(CompletableFuture<T> f) {
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
      public void onCompleted() {}
    };
  }

  static Status.Code code(Throwable t) {
    return Status.fromThrowable(t).getCode();
  }

  /** Status code and description, e.g. {@code FAILED_PRECONDITION (policy: ...)}. */
  static String describe(Throwable t) {
    Status s = Status.fromThrowable(t);
    return s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
  }
}
