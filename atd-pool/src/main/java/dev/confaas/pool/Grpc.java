package dev.confaas.pool;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** Small adapters between gRPC's async stubs and futures. */
final class Grpc {
  private Grpc() {}

  /** An observer that completes {@code f} with the single response of a unary call. */
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
      public void onCompleted() {
        f.complete(null);
      }
    };
  }

  /** The status code and description of a gRPC failure, for messages. */
  static String describe(Throwable t) {
    Status s = Status.fromThrowable(t);
    return s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
  }
}
