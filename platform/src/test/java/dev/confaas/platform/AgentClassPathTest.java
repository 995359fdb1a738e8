package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent JVM's class path: function-runtime's dependencies out of this JVM's, nothing more. */
class AgentClassPathTest {

  @Test
  void keepsTheAgentsJarsAndDropsKafkaAndVertx() {
    List<Path> whole = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(e -> !e.isEmpty())
        .map(e -> Path.of(e).toAbsolutePath().normalize())
        .toList();
    List<Path> agent = AgentClassPath.of(whole).orElseThrow(
        () -> new AssertionError("function-runtime has no " + AgentClassPath.LISTING));
    List<String> names =
        agent.stream().map(p -> p.getFileName().toString().replaceAll("-\\d[^/]*\\.jar$|\\.jar$", "")).toList();
    assertTrue(names.contains("grpc-netty-shaded"), "agent class path lacks gRPC: " + names);
    assertTrue(names.contains("bcprov-jdk18on"), "agent class path lacks Bouncy Castle: " + names);
    assertTrue(names.contains("slf4j-simple"), "agent class path lacks a logging binding: " + names);
    assertFalse(names.contains("kafka_2.13"), "Kafka's broker is no part of an agent: " + names);
    assertFalse(names.contains("vertx-core"), "Vert.x is no part of an agent: " + names);
    assertTrue(whole.containsAll(agent), "the agent's entries must come from this class path");
    assertEquals(
        whole.stream().filter(agent::contains).toList(), agent, "the class path order changed");
  }
}
