package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.AgentClient;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.v1.FunctionError;
import dev.confaas.agent.v1.FunctionSettings;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.LogLine;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.StreamLogsRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * StreamLogs end to end inside the agent: real function processes, a real gRPC server and the
 * host's {@link AgentClient}. Each line carries its instance, the request it belongs to and the
 * deployment the instance was started as; a reader that does not read never holds up a function.
 */
class LogStreamingTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;
  private static Server server;
  private static ManagedChannel channel;
  private static AgentClient client;

  @BeforeAll
  static void start() throws Exception {
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
    PreparedFunctions catalog =
        new PreparedFunctions()
            .add(
                FunctionSpec.builder(
                        "chatty",
                        ShellRuntime.write(
                            tmp,
                            "chatty",
                            String.join(
                                "\n",
                                "  case \"$EVENT\" in",
                                "    flood) i=0; while [ $i -lt 6000 ]; do"
                                    + " echo \"flood $i $(printf '%0500d' 0)\" >&2; i=$((i+1)); done;"
                                    + " echo 'flood done' >&2 ;;",
                                "    *) echo \"handled $EVENT\" >&2 ;;",
                                "  esac",
                                "  OUT=ok")),
                        List.of("/var/task/bootstrap"))
                    .maxInstances(4)
                    .logFds(Set.of(1, 2))
                    .build())
            .add(
                FunctionSpec.builder(
                        "broken",
                        ShellRuntime.writeExecutable(
                            tmp,
                            "broken",
                            "#!/bin/sh\necho 'cannot read /var/task/config.json' >&2\nexit 4\n"),
                        List.of("/var/task/bootstrap"))
                    .logFds(Set.of(1, 2))
                    .build());
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
            .addService(new TdAgentService(supervisor, catalog))
            .build()
            .start();
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
            .usePlaintext()
            .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
            .build();
    client = new AgentClient(channel);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    supervisor.close();
  }

  /** Collects a stream's lines; fails the test if the stream ends on its own. */
  private static final class Collector implements AgentClient.LogListener {
    final LinkedBlockingQueue<LogLine> lines = new LinkedBlockingQueue<>();
    volatile AgentCallException ended;

    @Override
    public void line(LogLine line) {
      lines.add(line);
    }

    @Override
    public void ended(AgentCallException failure) {
      ended = failure;
    }

    LogLine await(Predicate<LogLine> wanted, Duration limit) throws InterruptedException {
      long end = System.nanoTime() + limit.toNanos();
      while (System.nanoTime() < end) {
        LogLine l = lines.poll(100, TimeUnit.MILLISECONDS);
        if (l != null && wanted.test(l)) {
          return l;
        }
      }
      throw new AssertionError("no such line within " + limit + (ended == null ? "" : "; stream ended: " + ended));
    }
  }

  private static String text(LogLine l) {
    return l.getLine().toString(StandardCharsets.UTF_8);
  }

  private static InvokeResponse invoke(String instanceId, String requestId, String event) {
    return client
        .invoke(
            InvokeRequest.newBuilder()
                .setInstanceId(instanceId)
                .setRequestId(requestId)
                .setPayload(ByteString.copyFromUtf8(event))
                .setTimeoutMs(60_000)
                .build(),
            Duration.ofSeconds(90))
        .join();
  }

  @Test
  void aLineNamesItsInstanceRequestAndDeployment() throws Exception {
    String instance =
        client
            .start(
                StartRequest.newBuilder()
                    .setImageId("chatty")
                    .setSettings(FunctionSettings.newBuilder().setName("orders").setVersion("7"))
                    .build())
            .join()
            .getInstanceId();
    Collector live = new Collector();
    try (AgentClient.LogStream s = client.streamLogs(StreamLogsRequest.getDefaultInstance(), live)) {
      InvokeResponse r = invoke(instance, "req-logs-1", "first");
      assertEquals("ok", r.getPayload().toStringUtf8(), r.toString());
      LogLine l = live.await(x -> text(x).equals("handled first"), Duration.ofSeconds(20));
      assertEquals(instance, l.getInstanceId());
      assertEquals("req-logs-1", l.getRequestId());
      assertEquals("orders", l.getFunctionName());
      assertEquals("7", l.getFunctionVersion());
      assertEquals("chatty", l.getImageId());
      assertEquals(2, l.getFd(), "stderr is shared when logFDs lists 2");
      assertEquals(0, l.getDropped());

      invoke(instance, "req-logs-2", "second");
      LogLine next = live.await(x -> text(x).equals("handled second"), Duration.ofSeconds(20));
      assertEquals("req-logs-2", next.getRequestId(), "each line belongs to its own request");
      assertTrue(next.getSequence() > l.getSequence());
    }

    // A stream opened later starts with what the agent still holds after its cursor: a host that
    // reconnects (or subscribes after the TD was handed out) loses nothing.
    Collector late = new Collector();
    try (AgentClient.LogStream s =
        client.streamLogs(StreamLogsRequest.newBuilder().setInstanceId(instance).build(), late)) {
      assertEquals("req-logs-1",
          late.await(x -> text(x).equals("handled first"), Duration.ofSeconds(20)).getRequestId());
    }
  }

  @Test
  void aFailedInitsOutputIsStreamedWithoutARequest() throws Exception {
    Collector live = new Collector();
    try (AgentClient.LogStream s = client.streamLogs(StreamLogsRequest.getDefaultInstance(), live)) {
      InvokeResponse r =
          client
              .invoke(
                  InvokeRequest.newBuilder()
                      .setImageId("broken")
                      .setRequestId("req-init-1")
                      .setPayload(ByteString.copyFromUtf8("{}"))
                      .build(),
                  Duration.ofSeconds(60))
              .join();
      assertEquals(FunctionError.Kind.INIT_FAILED, r.getError().getKind(), r.toString());
      LogLine l =
          live.await(x -> text(x).equals("cannot read /var/task/config.json"), Duration.ofSeconds(20));
      assertEquals("", l.getRequestId(), "output before the first event is init output");
      assertEquals(2, l.getFd());
      assertEquals("broken", l.getImageId());
    }
  }

  @Test
  void aReaderThatDoesNotReadLosesTheOldestLinesAndIsToldHowMany() throws Exception {
    String instance =
        client.start(StartRequest.newBuilder().setImageId("chatty").build()).join().getInstanceId();
    long before = supervisor.logs().lastSequence();
    // A raw stub with manual flow control that asks for nothing until the flood is over: the
    // agent can send only what HTTP/2 windows hold, and must not make the function wait.
    LinkedBlockingQueue<LogLine> got = new LinkedBlockingQueue<>();
    ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
    TdAgentGrpc.newStub(channel)
        .streamLogs(
            StreamLogsRequest.newBuilder().setAfterSequence(before).build(),
            new ClientResponseObserver<StreamLogsRequest, LogLine>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<StreamLogsRequest> c) {
                call[0] = c;
                c.disableAutoRequestWithInitial(0);
              }

              @Override
              public void onNext(LogLine value) {
                got.add(value);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    try {
      long t0 = System.nanoTime();
      InvokeResponse r = invoke(instance, "req-flood", "flood");
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertEquals("ok", r.getPayload().toStringUtf8(), r.toString());
      // 6001 lines of ~510 bytes (3 MB) against 4096 kept lines: the function finished although
      // nobody read; generous bound for a slow machine, the point is that it is not stuck.
      assertTrue(ms < 60_000, "the flood took " + ms + " ms");
      long last = supervisor.logs().lastSequence();
      assertTrue(last - before >= 6001, "all lines were sequenced: " + (last - before));

      call[0].request(Integer.MAX_VALUE);
      List<LogLine> lines = new ArrayList<>();
      long dropped = 0;
      LogLine l;
      while ((l = got.poll(5, TimeUnit.SECONDS)) != null) {
        lines.add(l);
        dropped += l.getDropped();
        if (l.getSequence() == last) {
          break;
        }
      }
      assertNotNull(lines.isEmpty() ? null : lines.get(lines.size() - 1), "nothing arrived");
      assertEquals("flood done", text(lines.get(lines.size() - 1)), "the newest lines are kept");
      assertTrue(dropped > 0, "a reader that fell behind the buffer must be told it lost lines");
      assertEquals(last - before, lines.size() + dropped,
          "every line is either delivered or counted as dropped");
    } finally {
      call[0].cancel("test over", null);
    }
  }
}
