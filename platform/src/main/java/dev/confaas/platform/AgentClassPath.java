package dev.confaas.platform;

import dev.confaas.agent.AgentArtifacts;
import dev.confaas.agent.AgentProgram;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The agent's class path, cut out of this JVM's by agent-api's {@link AgentProgram#classPathIn}:
 * what a {@code process}-backend agent JVM runs and what a {@code qemu} guest image carries. The
 * whole class path (under {@code confaas up}, every jar including Kafka's) would be measured into
 * MRTD, hashed at each boot and copied into the guest for nothing.
 */
final class AgentClassPath {
  static final String LISTING = AgentProgram.CLASS_PATH_LISTING;

  private AgentClassPath() {}

  /** This JVM's class path, in order. */
  static List<Path> ofThisJvm() {
    return AgentArtifacts.parseClassPath(System.getProperty("java.class.path"));
  }

  /**
   * The agent's part of {@code classPath}, in its order; empty when function-runtime's listing is
   * missing (then the caller keeps the whole class path).
   */
  static Optional<List<Path>> of(List<Path> classPath) {
    return AgentProgram.classPathIn(classPath);
  }
}
