package dev.confaas.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * One TD of the {@code qemu} or {@code qemu-tdx} backend: a QEMU process (under a small shell that
 * stops it when the launcher's JVM goes, see {@link QemuTdLauncher}) whose guest runs the agent as
 * init.
 */
final class QemuTd extends ChildProcessLauncher.Td {

  QemuTd(
      QemuTdLauncher launcher,
      String id,
      String accelerator,
      Process wrapper,
      Path dir,
      Duration stopGrace) {
    super(launcher, id, accelerator, wrapper, dir, stopGrace);
  }

  /** The QEMU process, once it has written its PID file. */
  Optional<ProcessHandle> qemu() {
    try {
      long pid = Long.parseLong(Files.readString(dir().resolve(QemuTdLauncher.PID_FILE)).trim());
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * QEMU and its wrapper: SIGTERM, SIGKILL after the grace. The VM holds nothing worth a clean
   * shutdown: its state is gone with it by design.
   */
  @Override
  void stop() throws InterruptedException {
    Optional<ProcessHandle> qemu = qemu();
    qemu.ifPresent(ProcessHandle::destroy);
    if (!terminate()) {
      qemu.ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
