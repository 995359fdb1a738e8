package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.v1.LogLine;
import dev.confaas.agent.v1.StreamLogsRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host's supervision of a TD's log stream, against a scripted agent over real gRPC: a stream
 * that breaks is reopened after the last line seen, and one whose TD is gone is let go.
 */
class TdLogStreamsTest {
  /** Sends lines after the caller's cursor; the first call breaks after two lines. */
  static final class ScriptedAgent extends TdAgentGrpc.TdAgentImplBase {
    final List<Long> cursors = new CopyOnWriteArrayList<>();
    final LinkedBlockingQueue<StreamObserver<LogLine>> open = new LinkedBlockingQueue<>();

    @Override
    public void streamLogs(StreamLogsRequest request, StreamObserver<LogLine> out) {
      cursors.add(request.getAfterSequence());
      long from = request.getAfterSequence() + 1;
      long to = cursors.size() == 1 ? 2 : 3;
      for (long s = from; s <= to; s++) {
        out.onNext(line(s));
      }
      if (cursors.size() == 1) {
        out.onError(Status.UNAVAILABLE.withDescription("agent restarting its server").asRuntimeException());
      } else {
        open.add(out);
      }
    }

    static LogLine line(long s) {
      return LogLine.newBuilder()
          .setSequence(s)
          .setInstanceId("i-1")
          .setFunctionName("fn")
          .setFunctionVersion("1")
          .setRequestId("r-" + s)
          .setFd(2)
          .setDropped(s == 3 ? 5 : 0)
          .setLine(ByteString.copyFromUtf8("line " + s))
          .build();
    }
  }

  final ScriptedAgent agent = new ScriptedAgent();
  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  Server server;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(agent).build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    timer.shutdownNow();
  }

  @Test
  void aBrokenStreamIsReopenedAfterTheLastLineAndLetGoWhenTheTdIsGone() throws Exception {
    LinkedBlockingQueue<String> sink = new LinkedBlockingQueue<>();
    AtomicBoolean alive = new AtomicBoolean(true);
    try (TdLogStreams streams = new TdLogStreams(
        (td, l) -> sink.add(td + " " + l.getSequence() + " " + l.getRequestId()),
        timer, Clock.systemUTC(), Duration.ofMillis(50), Duration.ofSeconds(1))) {
      streams.follow("td-1", new AgentClient(channel), alive::get);
      streams.follow("td-1", new AgentClient(channel), alive::get); // the same TD twice: one stream

      for (int s = 1; s <= 3; s++) {
        assertEquals("td-1 " + s + " r-" + s, sink.poll(10, TimeUnit.SECONDS));
      }
      assertEquals(List.of(0L, 2L), agent.cursors,
          "the second call resumes after the last sequence the first delivered");
      TdLogStreams.Status st = streams.status("td-1").orElseThrow();
      assertEquals(TdLogStreams.State.STREAMING, st.state());
      assertEquals(3, st.lines());
      assertEquals(5, st.dropped(), "lines the agent reported lost are counted");
      assertEquals(1, st.restarts());
      assertTrue(st.lastError().contains("agent restarting its server"), st.lastError());

      alive.set(false);
      agent.open.take().onError(Status.UNAVAILABLE.withDescription("TD stopped").asRuntimeException());
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (streams.status("td-1").isPresent() && System.nanoTime() < end) {
        Thread.sleep(20);
      }
      assertTrue(streams.status("td-1").isEmpty(), "a stream of a TD that is gone is not reopened");
      Thread.sleep(200);
      assertEquals(2, agent.cursors.size(), "no call after the TD died");
    }
  }
}
