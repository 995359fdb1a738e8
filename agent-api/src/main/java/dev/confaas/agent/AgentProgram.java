package dev.confaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

  /** {@code artifact-1.2.3.jar}, {@code artifact-0.1.0-SNAPSHOT.jar} to {@code artifact}. */
  private static final Pattern VERSIONED = Pattern.compile("(.+?)-\\d[^/]*\\.jar");

  private static final String LOGGING_BINDING = "org.slf4j.simple.SimpleServiceProvider";

  private AgentProgram() {}

  /**
   * The agent's part of {@code classPath} (normally this JVM's), in its order: function-runtime and
   * the runtime dependencies its build listed in {@value #CLASS_PATH_LISTING}, matched by artifact
   * ID, plus class directories (a development build's own modules) and a logging binding. Empty
   * when the listing is not on this JVM's class path, i.e. the agent is not.
   *
   * <p>The whole class path would be copied into a guest image or measured into MRTD for nothing.
   */
  public static Optional<List<Path>> classPathIn(List<Path> classPath) {
    Optional<Set<String>> listed = listedArtifacts();
    if (listed.isEmpty()) {
      return Optional.empty();
    }
    Set<Path> always = new HashSet<>();
    codeSource(MAIN_CLASS).ifPresent(always::add);
    codeSource(LOGGING_BINDING).ifPresent(always::add);
    List<Path> out = new ArrayList<>();
    for (Path entry : classPath) {
      Path abs = entry.toAbsolutePath().normalize();
      if (always.contains(abs)
          || Files.isDirectory(abs)
          || listed.get().contains(artifactId(abs))) {
        out.add(abs);
      }
    }
    return Optional.of(out);
  }

  private static Optional<Set<String>> listedArtifacts() {
    try (InputStream in =
        AgentProgram.class.getClassLoader().getResourceAsStream(CLASS_PATH_LISTING)) {
      if (in == null) {
        return Optional.empty();
      }
      Set<String> names = new HashSet<>();
      for (String e : new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().split(":")) {
        String file = e.substring(e.lastIndexOf('/') + 1);
        if (file.endsWith(".jar")) {
          names.add(file.substring(0, file.length() - ".jar".length()));
        }
      }
      return Optional.of(names);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read " + CLASS_PATH_LISTING + " from function-runtime", e);
    }
  }

  static String artifactId(Path jar) {
    String name = jar.getFileName() == null ? "" : jar.getFileName().toString();
    Matcher m = VERSIONED.matcher(name);
    if (m.matches()) {
      return m.group(1);
    }
    return name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name;
  }

  private static Optional<Path> codeSource(String className) {
    try {
      Class<?> c = Class.forName(className, false, AgentProgram.class.getClassLoader());
      var source = c.getProtectionDomain().getCodeSource();
      return source == null
          ? Optional.empty()
          : Optional.of(Path.of(source.getLocation().toURI()).toAbsolutePath().normalize());
    } catch (ClassNotFoundException | URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
