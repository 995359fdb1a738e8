package dev.confaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** How the agent's jars are matched in a class path: by artifact ID, whatever the version. */
class AgentProgramTest {

  @Test
  void artifactIdsDropTheVersion() {
    assertEquals("grpc-api", AgentProgram.artifactId(Path.of("/m2/grpc-api-1.68.1.jar")));
    assertEquals(
        "confaas-image", AgentProgram.artifactId(Path.of("lib/confaas-image-0.1.0-SNAPSHOT.jar")));
    assertEquals(
        "listenablefuture",
        AgentProgram.artifactId(
            Path.of("listenablefuture-9999.0-empty-to-avoid-conflict-with-guava.jar")));
    assertEquals("slf4j-simple", AgentProgram.artifactId(Path.of("slf4j-simple.jar")));
  }
}
