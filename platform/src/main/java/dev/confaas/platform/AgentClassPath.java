package dev.confaas.platform;

import dev.confaas.agent.AgentProgram;
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
 * The class path a {@code process}-backend agent JVM gets: this JVM's class path cut down to what
 * the agent runs — function-runtime and its runtime dependencies, as its build lists them in
 * {@value #LISTING} — plus a logging binding. The whole class path (under {@code confaas up},
 * every jar including Kafka's) would be measured into MRTD and hashed at each boot for nothing.
 *
 * <p>Jars are matched by artifact ID (the file name without its version), so whichever versions
 * this JVM resolved are the ones the agent runs. Class directories ({@code target/classes} in a
 * development build) are kept: they are this build's own modules and cheap to measure.
 */
final class AgentClassPath {
  static final String LISTING = AgentProgram.CLASS_PATH_LISTING;
  /** {@code artifact-1.2.3.jar}, {@code artifact-0.1.0-SNAPSHOT.jar} to {@code artifact}. */
  private static final Pattern VERSIONED = Pattern.compile("(.+?)-\\d[^/]*\\.jar");
  private static final String LOGGING_BINDING = "org.slf4j.simple.SimpleServiceProvider";

  private AgentClassPath() {}

  /**
   * The agent's part of {@code classPath}, in its order; empty when function-runtime's listing is
   * missing (then the caller keeps the whole class path).
   */
  static Optional<List<Path>> of(List<Path> classPath) {
    Optional<Set<String>> listed = listedArtifacts();
    if (listed.isEmpty()) {
      return Optional.empty();
    }
    Set<String> wanted = new HashSet<>(listed.get());
    Set<Path> always = new HashSet<>();
    codeSource(AgentProgram.MAIN_CLASS).ifPresent(always::add);
    codeSource(LOGGING_BINDING).ifPresent(always::add);
    List<Path> out = new ArrayList<>();
    for (Path entry : classPath) {
      Path abs = entry.toAbsolutePath().normalize();
      if (always.contains(abs) || Files.isDirectory(abs) || wanted.contains(artifactId(abs))) {
        out.add(abs);
      }
    }
    return Optional.of(out);
  }

  /** The artifact IDs function-runtime's build listed. */
  private static Optional<Set<String>> listedArtifacts() {
    try (InputStream in = AgentClassPath.class.getClassLoader().getResourceAsStream(LISTING)) {
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
      throw new UncheckedIOException("cannot read " + LISTING + " from function-runtime", e);
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
      Class<?> c = Class.forName(className, false, AgentClassPath.class.getClassLoader());
      var source = c.getProtectionDomain().getCodeSource();
      return source == null
          ? Optional.empty()
          : Optional.of(Path.of(source.getLocation().toURI()).toAbsolutePath().normalize());
    } catch (ClassNotFoundException | URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
