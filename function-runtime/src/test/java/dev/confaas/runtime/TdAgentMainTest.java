package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentProgram;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.TdAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent as its own JVM process, as the process backend will launch it. */
class TdAgentMainTest {
  @TempDir Path tmp;

  @Test
  void theAgentProcessServesAPreparedFunctionAndStopsOnSigterm() throws Exception {
    Path fn = ShellRuntime.write(tmp, "upper", "  OUT=$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z')");
    InvokeResponse r =
        invokeOnce(
            "upper",
            "from another jvm",
            "--state-dir", tmp.resolve("state").toString(),
            "--prepared", "upper=" + fn + ":/var/task/bootstrap");
    assertEquals("FROM ANOTHER JVM", r.getPayload().toStringUtf8(), r.toString());
    List<ProcessHandle> leftovers =
        ProcessHandle.allProcesses()
            .filter(p -> p.info().commandLine().orElse("").contains(fn.toString()))
            .toList();
    assertEquals(List.of(), leftovers, "function processes outlived the agent");
  }

  /**
   * Starts the agent as its own JVM listening on a free loopback port with {@code args}, invokes
   * {@code imageId} once with {@code event}, then stops it with SIGTERM (its shutdown hook stops
   * the instances) and checks that it exits.
   */
  private static InvokeResponse invokeOnce(String imageId, String event, String... args)
      throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                java.toString(), "-cp", System.getProperty("java.class.path"),
                TdAgentMain.class.getName(), "--listen", "127.0.0.1:0"));
    cmd.addAll(List.of(args));
    Process agent = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    ManagedChannel channel = null;
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertTrue(line != null && line.startsWith("confaas-agent listening on 127.0.0.1:"), "agent said: " + line);
      int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
      channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      return TdAgentGrpc.newBlockingStub(channel)
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .invoke(
              InvokeRequest.newBuilder()
                  .setImageId(imageId)
                  .setPayload(ByteString.copyFromUtf8(event))
                  .setTimeoutMs(10_000)
                  .build());
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
      agent.destroy();
      assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent did not exit on SIGTERM");
    }
  }

  @Test
  void anAgentWhoseLauncherIsGoneExitsWhenItsStdinCloses() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process agent =
        new ProcessBuilder(
                java.toString(), "-cp", System.getProperty("java.class.path"),
                TdAgentMain.class.getName(), "--listen", "127.0.0.1:0",
                "--state-dir", tmp.resolve("state2").toString(), "--exit-with-stdin")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      String line =
          new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8)).readLine();
      assertTrue(line != null && line.startsWith("confaas-agent listening on"), "agent said: " + line);
      agent.getOutputStream().close(); // what the launcher's death does to the pipe
      assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent outlived its closed stdin");
    } finally {
      agent.destroyForcibly();
    }
  }

  @Test
  void launchersFindTheAgentByTheNamesAgentApiGives() throws Exception {
    assertEquals(
        TdAgentMain.class.getName(),
        AgentProgram.MAIN_CLASS,
        "agent-api's AgentProgram.MAIN_CLASS must name this main class; launchers start it by that name");
    try (var listing =
        TdAgentMain.class.getClassLoader().getResourceAsStream(AgentProgram.CLASS_PATH_LISTING)) {
      assertTrue(listing != null, "the build did not write " + AgentProgram.CLASS_PATH_LISTING);
      String jars = new String(listing.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(jars.contains("confaas-agent-api.jar"), "the listing lacks agent-api: " + jars);
    }
  }

  /**
   * A launcher sets the function init limit for its backend's pace (a TCG guest is many times
   * slower than the host): an instance that does not ask for its first event within it fails with
   * Lambda's Runtime.InitTimeout, naming the limit given. (The limit is above the function's
   * default 3 s timeout, which an init may also take: FunctionInstance.initTimeout.)
   */
  @Test
  void theInitLimitIsTheOneTheLauncherGives() throws Exception {
    Path fn = ShellRuntime.writeExecutable(tmp, "slow-init", "#!/bin/sh\nsleep 60\n");
    InvokeResponse r =
        invokeOnce(
            "slow",
            "x",
            "--state-dir", tmp.resolve("state3").toString(),
            "--init-timeout-ms", "4500",
            "--prepared", "slow=" + fn + ":/var/task/bootstrap");
    assertEquals("Runtime.InitTimeout", r.getError().getType(), r.toString());
    assertTrue(r.getError().getMessage().contains("within 4500 ms"), r.toString());
  }

  @Test
  void anInitLimitOutOfRangeIsRefusedNamingTheOption() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> TdAgentMain.initTimeout("0"));
    assertTrue(e.getMessage().contains("--init-timeout-ms 0"), e.getMessage());
    assertEquals(java.time.Duration.ofMinutes(2), TdAgentMain.initTimeout("120000"));
  }
}
