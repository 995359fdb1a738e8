package dev.confaas.runtime;

import java.util.List;

/**
 * What isolation this host lets the agent give function instances, detected at start-up. The
 * agent takes whatever is there and says what it could not get, so an environment's actual
 * guarantees can be read off rather than assumed.
 *
 * @param namespaces each instance gets its own mount, PID, IPC and UTS namespaces, a private
 *     {@code /tmp}, its own {@code /proc}, a minimal {@code /dev}, a read-only root it is chrooted
 *     into, and runs as an unprivileged user
 * @param networkNamespace each instance gets its own network namespace holding only a loopback on
 *     which the agent serves its Runtime API (unless its manifest asks for network)
 * @param overlayfs full root filesystems are mounted as a per-instance overlay (instances never
 *     write to the shared image); otherwise they are bind-mounted read-only
 * @param memory how each instance is held to its memory size ({@link MemoryLimit}: cgroup v2, cgroup
 *     v1, RLIMIT_AS, or nothing)
 * @param notes for each thing not available, why
 */
record IsolationReport(
    boolean namespaces,
    boolean networkNamespace,
    boolean overlayfs,
    MemoryLimit memory,
    List<String> notes) {
  public IsolationReport {
    notes = List.copyOf(notes);
  }

  /** One line per property, for logs and the README. */
  public String describe() {
    StringBuilder b = new StringBuilder();
    b.append("mount/pid/ipc/uts namespaces, chroot, private /tmp, unprivileged uid: ")
        .append(namespaces ? "yes" : "NO")
        .append('\n');
    b.append("own network namespace (loopback only): ").append(networkNamespace ? "yes" : "NO").append('\n');
    b.append("overlayfs per instance: ").append(overlayfs ? "yes" : "NO").append('\n');
    b.append("memory limit per instance: ")
        .append(memory.mechanism() == MemoryLimit.Mechanism.NONE ? "NO" : memory.describe())
        .append('\n');
    for (String note : notes) {
      b.append("  - ").append(note).append('\n');
    }
    return b.toString();
  }
}
