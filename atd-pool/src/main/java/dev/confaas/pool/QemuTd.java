package dev.confaas.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One TD of the {@code qemu} or {@code qemu-tdx} backend: a QEMU process (under a small shell that
 * stops it when the launcher's JVM goes, see {@link QemuTdLauncher}) whose guest runs the agent as
 * init.
 */
final class QemuTd implements LaunchedTd {
  private final String id;
  private final String backend;
  private final Process wrapper;
  private final Path dir;
  private final Duration stopGrace;
  private final Consumer<QemuTd> onClose;
  private volatile String target;
  private boolean closed;

  QemuTd(
      String id,
      String backend,
      Process wrapper,
      Path dir,
      Duration stopGrace,
      Consumer<QemuTd> onClose) {
    this.id = id;
    this.backend = backend;
    this.wrapper = wrapper;
    this.dir = dir;
    this.stopGrace = stopGrace;
    this.onClose = onClose;
  }

  void serving(String target) {
    this.target = target;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String backend() {
    return backend;
  }

  @Override
  public String agentTarget() {
    return target;
  }

  /** The TD's directory: {@code console.log} (the guest's console), {@code qemu.log}. */
  Path dir() {
    return dir;
  }

  /** The QEMU process, once it has written its PID file. */
  Optional<ProcessHandle> qemu() {
    try {
      long pid = Long.parseLong(Files.readString(dir.resolve(QemuTdLauncher.PID_FILE)).trim());
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** False once QEMU has exited: the guest powered off, crashed, or QEMU was killed. */
  @Override
  public boolean isAlive() {
    return wrapper.isAlive();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      // The VM holds nothing worth a clean shutdown: its state is gone with it by design.
      qemu().ifPresent(ProcessHandle::destroy);
      wrapper.destroy();
      if (!wrapper.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        qemu().ifPresent(ProcessHandle::destroyForcibly);
        wrapper.destroyForcibly();
        wrapper.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      qemu().ifPresent(ProcessHandle::destroyForcibly);
      wrapper.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      try {
        wrapper.getOutputStream().close();
      } catch (IOException ignored) {
        // The pipe is gone with the process.
      }
      onClose.accept(this);
    }
  }

  @Override
  public String toString() {
    return backend + " TD " + id + " (" + target + ")";
  }
}
