package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.FunctionError;
import dev.confaas.agent.v1.InspectRequest;
import dev.confaas.agent.v1.InspectResponse;
import dev.confaas.agent.v1.InstanceInfo;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.KillRequest;
import dev.confaas.agent.v1.LogLine;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.StreamLogsRequest;
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
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's gRPC API over a real Netty server and channel on loopback, running real functions. */
class TdAgentServiceTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;
  private static Server server;
  private static ManagedChannel channel;
  private static TdAgentGrpc.TdAgentBlockingStub agent;

  @BeforeAll
  static void start() throws Exception {
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
    PreparedFunctions catalog =
        new PreparedFunctions()
            .add(
                FunctionSpec.builder(
                        "upper",
                        ShellRuntime.write(
                            tmp,
                            "upper",
                            String.join(
                                "\n",
                                "  echo \"handling $ID\"",
                                "  case \"$EVENT\" in",
                                "    hang) sleep 1000 ;;",
                                "    crash) exit 3 ;;",
                                "    *) OUT=$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z') ;;",
                                "  esac")),
                        List.of("/var/task/bootstrap"))
                    .maxInstances(2)
                    .logFds(Set.of(1))
                    .signals(List.of(-15))
                    .envRules(EnvRules.parse(List.of("MODE=fast", "MODE=slow")))
                    .build())
            .add(
                FunctionSpec.builder(
                        "single",
                        ShellRuntime.write(
                            tmp,
                            "single",
                            String.join(
                                "\n",
                                "  case \"$EVENT\" in",
                                "    env) OUT=$(env) ;;",
                                "    headers) OUT=$(cat \"$T/headers\") ;;",
                                "    crash) exit 1 ;;",
                                "    *) OUT=\"ok:$EVENT\" ;;",
                                "  esac")),
                        List.of("/var/task/bootstrap"))
                    .maxInstances(1)
                    .handler("function.handler")
                    .envRules(EnvRules.parse(List.of("AWS_EXECUTION_ENV=AWS_Lambda_provided")))
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
    agent = TdAgentGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    supervisor.close();
  }

  private static InvokeResponse invokeImage(String event, int timeoutMs) {
    return agent
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .invoke(
            InvokeRequest.newBuilder()
                .setImageId("upper")
                .setPayload(ByteString.copyFromUtf8(event))
                .setTimeoutMs(timeoutMs)
                .build());
  }

  @Test
  void invokeByImageRunsTheFunction() {
    InvokeResponse r = invokeImage("hello td", 10_000);
    assertEquals("HELLO TD", r.getPayload().toStringUtf8(), "error: " + r.getError());
    assertTrue(r.getInstanceId().startsWith("i-"), r.getInstanceId());
    assertEquals(36, r.getRequestId().length(), "a UUID request ID is made when none is given");
  }

  @Test
  void startedInstancesAreInvokedByIdAndCrashesComeBackAsFunctionErrors() {
    String id =
        agent.start(StartRequest.newBuilder().setImageId("upper").addEnv("MODE=slow").build()).getInstanceId();
    InvokeResponse crashed =
        agent
            .withDeadlineAfter(60, TimeUnit.SECONDS)
            .invoke(
                InvokeRequest.newBuilder()
                    .setInstanceId(id)
                    .setPayload(ByteString.copyFromUtf8("crash"))
                    .setRequestId("req-crash-1")
                    .build());
    assertEquals(FunctionError.Kind.CRASHED, crashed.getError().getKind(), crashed.toString());
    assertEquals(3, crashed.getError().getExitStatus());
    assertEquals("req-crash-1", crashed.getRequestId());

    InspectResponse inspected = agent.inspect(InspectRequest.newBuilder().setInstanceId(id).build());
    assertEquals(InstanceInfo.State.EXITED, inspected.getInstances(0).getState());
    assertEquals(3, inspected.getInstances(0).getExitStatus());
    assertEquals("upper", inspected.getImages(0).getImageId());
  }

  private static InvokeResponse invokeInstance(String id, String event) {
    return agent
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .invoke(
            InvokeRequest.newBuilder()
                .setInstanceId(id)
                .setPayload(ByteString.copyFromUtf8(event))
                .setTimeoutMs(20_000)
                .build());
  }

  /** Stops an instance and waits until its place is free for the next test. */
  private static void kill(String id) {
    supervisor.stop(id);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (supervisor.instancesOf("single").stream().anyMatch(i -> i.instanceId().equals(id))) {
      assertTrue(System.nanoTime() < end, "instance " + id + " did not stop within 20 s");
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Issue 13: the host owns instance lifecycle, so after a crash its Start is never refused. */
  @Test
  void aCrashedInstanceIsGoneAtOnceSoTheHostsNextStartFitsUnderMaxInstancesOne() {
    String first = agent.start(StartRequest.newBuilder().setImageId("single").build()).getInstanceId();
    assertEquals("ok:warm", invokeInstance(first, "warm").getPayload().toStringUtf8());
    InvokeResponse crashed = invokeInstance(first, "crash");
    assertEquals(FunctionError.Kind.CRASHED, crashed.getError().getKind(), crashed.toString());

    // Right after the reply: no RESOURCE_EXHAUSTED, because the agent did not restart the
    // instance behind the host's back and has already freed its place.
    String second = agent.start(StartRequest.newBuilder().setImageId("single").build()).getInstanceId();
    assertEquals("ok:again", invokeInstance(second, "again").getPayload().toStringUtf8());
    List<InstanceInfo> live =
        agent.inspect(InspectRequest.getDefaultInstance()).getInstancesList().stream()
            .filter(i -> i.getImageId().equals("single") && i.getState() != InstanceInfo.State.EXITED)
            .toList();
    assertEquals(
        List.of(second), live.stream().map(InstanceInfo::getInstanceId).toList(),
        "the agent must run exactly the instances the host started: " + live);
    kill(second);
  }

  /** Issue 13: the function sees its deployment, and every variable Lambda sets, as Lambda does. */
  @Test
  void anInstanceSeesItsDeploymentInTheVariablesLambdaSets() {
    String id =
        agent
            .start(
                StartRequest.newBuilder()
                    .setImageId("single")
                    .setSettings(
                        dev.confaas.agent.v1.FunctionSettings.newBuilder()
                            .setName("orders")
                            .setVersion("3")
                            .setMemoryMb(512)
                            .setTimeoutMs(20_000))
                    .build())
            .getInstanceId();
    try {
      InvokeResponse r = invokeInstance(id, "env");
      java.util.Map<String, String> env = new java.util.TreeMap<>();
      for (String line : r.getPayload().toStringUtf8().split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          env.put(line.substring(0, eq), line.substring(eq + 1));
        }
      }
      String date =
          java.time.format.DateTimeFormatter.ofPattern("yyyy/MM/dd")
              .withZone(java.time.ZoneOffset.UTC)
              .format(java.time.Instant.now());
      java.util.Map<String, String> expected = new java.util.TreeMap<>();
      expected.put("AWS_LAMBDA_FUNCTION_NAME", "orders");
      expected.put("AWS_LAMBDA_FUNCTION_VERSION", "3");
      expected.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512");
      expected.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders");
      expected.put("AWS_LAMBDA_LOG_STREAM_NAME", date + "/[3]" + id);
      expected.put("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
      expected.put("AWS_REGION", "confaas-local");
      expected.put("AWS_DEFAULT_REGION", "confaas-local");
      expected.put("AWS_EXECUTION_ENV", "AWS_Lambda_provided");
      expected.put("LAMBDA_RUNTIME_DIR", "/var/runtime");
      expected.put("LAMBDA_TASK_ROOT", supervisor.isolation().namespaces() ? "/var/task" : env.get("LAMBDA_TASK_ROOT"));
      expected.put("TZ", ":UTC");
      expected.put("_HANDLER", "function.handler");
      java.util.Map<String, String> seen = new java.util.TreeMap<>(env);
      seen.keySet().retainAll(expected.keySet());
      assertEquals(expected, seen, "the function's environment: " + env);
      assertTrue(env.getOrDefault("AWS_LAMBDA_RUNTIME_API", "").matches("127\\.0\\.0\\.1:\\d+"), env.toString());

      InvokeResponse h =
          agent
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .invoke(
                  InvokeRequest.newBuilder()
                      .setInstanceId(id)
                      .setPayload(ByteString.copyFromUtf8("headers"))
                      .setClientContext("{\"custom\":{\"tenant\":\"t1\"}}")
                      .setCognitoIdentity("{\"cognitoIdentityId\":\"id-1\"}")
                      .build());
      String headers = h.getPayload().toStringUtf8();
      assertTrue(
          headers.contains("Lambda-Runtime-Client-Context: {\"custom\":{\"tenant\":\"t1\"}}"), headers);
      assertTrue(
          headers.contains("Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"id-1\"}"), headers);
      assertTrue(
          headers.contains("Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:confaas-local:000000000000:function:orders"),
          headers);
    } finally {
      kill(id);
    }
  }

  @Test
  void aTimeoutIsReportedAndTheNextCallIsServed() {
    InvokeResponse hung = invokeImage("hang", 300);
    assertEquals(FunctionError.Kind.TIMED_OUT, hung.getError().getKind(), hung.toString());
    assertEquals("OK", invokeImage("ok", 10_000).getPayload().toStringUtf8());
  }

  @Test
  void refusalsSayWhatWasWrong() {
    StatusRuntimeException badEnv =
        assertThrows(
            StatusRuntimeException.class,
            () -> agent.start(StartRequest.newBuilder().setImageId("upper").addEnv("MODE=turbo").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, badEnv.getStatus().getCode());
    assertTrue(badEnv.getStatus().getDescription().contains("MODE=turbo"), badEnv.getMessage());

    StatusRuntimeException unknown =
        assertThrows(
            StatusRuntimeException.class,
            () -> agent.invoke(InvokeRequest.newBuilder().setImageId("sha384/nope").build()));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());

    StatusRuntimeException noTarget =
        assertThrows(StatusRuntimeException.class, () -> agent.invoke(InvokeRequest.getDefaultInstance()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noTarget.getStatus().getCode());

    StatusRuntimeException tooLong =
        assertThrows(StatusRuntimeException.class, () -> invokeImage("x", 900_001));
    assertTrue(tooLong.getStatus().getDescription().contains("timeout_ms"), tooLong.getMessage());

    StatusRuntimeException manifest =
        assertThrows(
            StatusRuntimeException.class, () -> agent.addManifest(AddManifestRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNIMPLEMENTED, manifest.getStatus().getCode());
    assertTrue(manifest.getStatus().getDescription().contains("image loader"), manifest.getMessage());
  }

  @Test
  void onlySignalsTheManifestListsMayBeSent() {
    String id = invokeImage("warm", 10_000).getInstanceId();
    StatusRuntimeException denied =
        assertThrows(
            StatusRuntimeException.class,
            () -> agent.kill(KillRequest.newBuilder().setInstanceId(id).setSignal(9).build()));
    assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode());
    assertTrue(denied.getStatus().getDescription().contains("[-15]"), denied.getMessage());
  }

  @Test
  void sharedLogLinesAreStreamed() throws Exception {
    LinkedBlockingQueue<LogLine> lines = new LinkedBlockingQueue<>();
    TdAgentGrpc.newStub(channel)
        .streamLogs(
            StreamLogsRequest.getDefaultInstance(),
            new StreamObserver<>() {
              @Override
              public void onNext(LogLine l) {
                lines.add(l);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    // The subscription is set up asynchronously; invoke until a line about our request arrives.
    String wanted = null;
    for (int attempt = 0; attempt < 20 && wanted == null; attempt++) {
      InvokeResponse r = invokeImage("log me", 10_000);
      LogLine l;
      while ((l = lines.poll(2, TimeUnit.SECONDS)) != null) {
        if (l.getLine().toString(StandardCharsets.UTF_8).equals("handling " + r.getRequestId())) {
          wanted = r.getRequestId();
          assertEquals(1, l.getFd());
          assertEquals("upper", l.getImageId());
          break;
        }
      }
    }
    assertTrue(wanted != null, "no log line for an invocation was streamed");
  }
}
