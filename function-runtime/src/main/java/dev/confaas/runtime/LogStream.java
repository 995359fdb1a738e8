package dev.confaas.runtime;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One StreamLogs call: sends the {@link LogBuffer}'s lines after its cursor whenever the transport
 * is ready (gRPC flow control), and stops sending when it is not, so a slow host holds no line in
 * memory beyond the shared buffer and never slows a function. Woken by appends (a function's output
 * thread) and by the call becoming ready (gRPC's executor); one thread sends at a time.
 */
final class LogStream {
  private static final int BATCH = 256;

  private final LogBuffer buffer;
  private final ServerCallStreamObserver<dev.confaas.agent.v1.LogLine> call;
  private final String onlyInstance;
  private final AtomicInteger wakes = new AtomicInteger();
  private long cursor;
  private long droppedCarry;

  LogStream(
      LogBuffer buffer,
      ServerCallStreamObserver<dev.confaas.agent.v1.LogLine> call,
      String onlyInstance,
      long afterSequence) {
    this.buffer = buffer;
    this.call = call;
    this.onlyInstance = onlyInstance;
    this.cursor = afterSequence;
  }

  /** Sends what it can now; returns at once when another thread is sending (it will see more). */
  void wake() {
    if (wakes.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      sendWhileReady();
      missed = wakes.addAndGet(-missed);
    } while (missed != 0);
  }

  private void sendWhileReady() {
    while (!call.isCancelled() && call.isReady()) {
      LogBuffer.Batch batch = buffer.readAfter(cursor, BATCH);
      if (batch.lines().isEmpty()) {
        return;
      }
      droppedCarry += batch.dropped();
      for (LogLine l : batch.lines()) {
        cursor = l.sequence();
        if (!onlyInstance.isEmpty() && !onlyInstance.equals(l.instanceId())) {
          continue;
        }
        call.onNext(
            dev.confaas.agent.v1.LogLine.newBuilder()
                .setInstanceId(l.instanceId())
                .setImageId(l.imageId())
                .setFunctionName(l.function())
                .setFunctionVersion(l.version())
                .setRequestId(l.requestId())
                .setFd(l.fd())
                .setLine(ByteString.copyFrom(l.line()))
                .setTimeEpochMs(l.timeEpochMs())
                .setSequence(l.sequence())
                .setDropped(droppedCarry)
                .build());
        droppedCarry = 0;
      }
    }
  }
}
