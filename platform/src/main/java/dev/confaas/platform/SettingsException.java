package dev.confaas.platform;

import java.nio.file.Path;
import java.util.List;

/**
 * The platform's settings are not usable: one line per problem, each naming its key, what is
 * wrong, and where the value came from ({@code confaas.yaml}, an environment variable, the command
 * line).
 */
final class SettingsException extends IllegalArgumentException {
  private final List<String> problems;

  SettingsException(Path file, List<String> problems) {
    super(message(file, problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem, e.g. {@code pool.size: must be between 1 and 64, was 100 (confaas.yaml)}. */
  public List<String> problems() {
    return problems;
  }

  private static String message(Path file, List<String> problems) {
    // One line: the CLI prints errors on one line, and a log line should stay whole.
    return new StringBuilder("invalid settings: ")
        .append(String.join("; ", problems))
        .append(". Fix them in ").append(file)
        .append(", the CONFAAS_<SECTION>_<KEY> environment variables or the flags;")
        .append(" 'confaas up --print-settings' lists every key with its default and meaning")
        .toString();
  }
}
