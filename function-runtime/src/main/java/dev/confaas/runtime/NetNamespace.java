package dev.confaas.runtime;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs code inside a fresh Linux network namespace, on one dedicated thread.
 *
 * <p>Network namespaces belong to threads, and a socket belongs to the namespace of the thread
 * that created it. So the launcher thread enters a new namespace ({@code unshare(CLONE_NEWNET)}),
 * brings its loopback up, binds the instance's Runtime API socket there and spawns the instance
 * (which inherits the namespace), then returns to the agent's namespace ({@code setns}). The
 * function thus sees only its own loopback, on which the agent answers at {@code 127.0.0.1:9001},
 * and no other network. Nothing else may run on that thread, because every thread it creates
 * would inherit whatever namespace it is in.
 */
final class NetNamespace implements AutoCloseable {
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000;
  private static final int AF_INET = 2;
  private static final int SOCK_DGRAM = 2;
  private static final long SIOCGIFFLAGS = 0x8913;
  private static final long SIOCSIFFLAGS = 0x8914;
  private static final short IFF_UP = 0x1;
  private static final int IFREQ_SIZE = 40;
  private static final int IFREQ_FLAGS_OFFSET = 16;

  /** The few libc calls needed; JNA maps them by name. */
  interface LibC extends Library {
    int unshare(int flags);

    int setns(int fd, int nstype);

    int open(String path, int flags);

    int close(int fd);

    int socket(int domain, int type, int protocol);

    int ioctl(int fd, long request, Pointer arg);
  }

  private final LibC libc;
  private final int agentNamespaceFd;
  private ExecutorService thread;

  private NetNamespace(LibC libc, int agentNamespaceFd) {
    this.libc = libc;
    this.agentNamespaceFd = agentNamespaceFd;
    this.thread = newThread();
  }

  /**
   * Opens the agent's own namespace (to return to) and checks that a fresh one can be made.
   *
   * @throws IllegalStateException saying why network namespaces are unavailable
   */
  static NetNamespace open() {
    LibC libc;
    try {
      libc = Native.load("c", LibC.class);
    } catch (UnsatisfiedLinkError e) {
      throw new IllegalStateException("libc could not be loaded through JNA: " + e.getMessage());
    }
    int fd = libc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw new IllegalStateException(
          "cannot open /proc/thread-self/ns/net (errno " + Native.getLastError() + ")");
    }
    NetNamespace ns = new NetNamespace(libc, fd);
    try {
      ns.run(() -> null);
      return ns;
    } catch (Exception e) {
      ns.close();
      throw new IllegalStateException(e.getMessage());
    }
  }

  /** Runs {@code action} inside a new network namespace whose loopback is up. */
  synchronized <T> T run(Callable<T> action) throws Exception {
    Future<T> f =
        thread.submit(
            () -> {
              if (libc.unshare(CLONE_NEWNET) != 0) {
                throw new IllegalStateException(
                    "unshare(CLONE_NEWNET) failed, errno " + Native.getLastError()
                        + " (needs CAP_SYS_ADMIN)");
              }
              try {
                loopbackUp();
                return action.call();
              } finally {
                if (libc.setns(agentNamespaceFd, CLONE_NEWNET) != 0) {
                  // This thread is stuck in the function's namespace; never use it again.
                  thread.shutdown();
                  thread = newThread();
                  throw new IllegalStateException(
                      "setns back to the agent's network namespace failed, errno "
                          + Native.getLastError());
                }
              }
            });
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  /**
   * Moves the calling thread into the agent's own network namespace. Every thread the agent makes
   * starts with this, so none can be left in a function's namespace by where it was created.
   */
  void joinAgentNamespace() {
    if (libc.setns(agentNamespaceFd, CLONE_NEWNET) != 0) {
      throw new IllegalStateException(
          "setns to the agent's network namespace failed, errno " + Native.getLastError());
    }
  }

  private void loopbackUp() {
    int sock = libc.socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) {
      throw new IllegalStateException("socket() in the new namespace failed, errno " + Native.getLastError());
    }
    try (Memory ifreq = new Memory(IFREQ_SIZE)) {
      ifreq.clear();
      byte[] name = "lo".getBytes(StandardCharsets.US_ASCII);
      ifreq.write(0, name, 0, name.length);
      if (libc.ioctl(sock, SIOCGIFFLAGS, ifreq) != 0) {
        throw new IllegalStateException("SIOCGIFFLAGS on lo failed, errno " + Native.getLastError());
      }
      short flags = ifreq.getShort(IFREQ_FLAGS_OFFSET);
      ifreq.setShort(IFREQ_FLAGS_OFFSET, (short) (flags | IFF_UP));
      if (libc.ioctl(sock, SIOCSIFFLAGS, ifreq) != 0) {
        throw new IllegalStateException("SIOCSIFFLAGS on lo failed, errno " + Native.getLastError());
      }
    } finally {
      libc.close(sock);
    }
  }

  private static ExecutorService newThread() {
    return Executors.newSingleThreadExecutor(
        r -> {
          Thread t = new Thread(r, "confaas-netns-launcher");
          t.setDaemon(true);
          return t;
        });
  }

  @Override
  public synchronized void close() {
    thread.shutdownNow();
    libc.close(agentNamespaceFd);
  }
}
