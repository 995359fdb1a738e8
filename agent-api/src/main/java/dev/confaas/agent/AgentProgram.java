package dev.confaas.agent;

/**
 * How a launcher starts the agent as a program without compiling against it: the name of its main
 * class, and the resource in which the agent's build lists its runtime class path. The {@code
 * process} backend runs {@code java -cp ... MAIN_CLASS}; a VM backend boots the same class as init.
 */
public final class AgentProgram {
  /**
   * The agent's main class (function-runtime's {@code TdAgentMain}); a test there keeps the two in
   * step.
   */
  public static final String MAIN_CLASS = "dev.confaas.runtime.TdAgentMain";

  /**
   * Class-path resource in the agent's jar listing its runtime dependencies, ':'-separated, as
   * {@code lib/ARTIFACT.jar} (no versions).
   */
  public static final String CLASS_PATH_LISTING = "META-INF/confaas/agent-classpath.txt";

  private AgentProgram() {}
}
