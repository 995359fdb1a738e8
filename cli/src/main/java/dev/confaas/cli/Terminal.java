package dev.confaas.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this process writes to a terminal, for output meant for a person reading it. */
final class Terminal {
  private Terminal() {}

  /**
   * True when standard output is a terminal. {@link System#console()} alone says so only when
   * standard input is one too ({@code echo x | confaas invoke f} has none), so on Linux the target
   * of {@code /proc/self/fd/1} decides: a pseudo-terminal, a console or a serial line.
   */
  static boolean isStdout() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return System.console() != null;
    }
  }
}
