package dev.confaas.runtime;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a {@link FunctionSpec} into the process of one instance, as isolated as the host allows.
 *
 * <p>With namespaces, the agent runs {@code unshare} (util-linux) for new mount, PID, IPC and UTS
 * namespaces, and in them a short POSIX sh script (below) that builds the instance's root in a
 * directory of its own and then execs the entrypoint chrooted, as an unprivileged user, in a new
 * session: ACON starts every entrypoint as a session and process-group leader (doc/Image.md). The
 * script runs as root in the new namespaces, before the function's code, and uses only the
 * agent's own {@code /bin/sh}, {@code mount}, {@code hostname}, {@code setsid} and {@code unshare}.
 */
final class InstanceLauncher {
  /** Port the Runtime API has inside an instance's own network namespace, as in Lambda. */
  static final int NAMESPACED_API_PORT = 9001;
  /** Exit status of an instance whose sandbox could not be built (as docker/podman use 125). */
  static final int SETUP_FAILED = 125;
  /** RLIMIT_NPROC of the functions' user, shared by all instances. */
  static final int MAX_FUNCTION_PROCESSES = 4096;

  // $1 layout, $2 source root, $3 instance dir, $4 working dir, $5 uid, $6 gid, $7 writable,
  // $8 the instance cgroup's cgroup.procs or "", $9 hostname, then the memory size in MB, the
  // RLIMIT_AS in bytes (0: none), then the entrypoint argv.
  private static final String SETUP =
      String.join(
          "\n",
          // Any failure before the final exec ends with SETUP_FAILED; after exec the trap is gone.
          "trap 'exit " + SETUP_FAILED + "' EXIT",
          "set -eu",
          "layout=$1 src=$2 dir=$3 wd=$4 uid=$5 gid=$6 writable=$7 procs=$8 host=$9",
          "shift 9",
          "mb=$1 as=$2",
          "shift 2",
          // Into the instance's cgroup before anything is allocated, so every page it and its
          // tmpfs files use is charged to it.
          "if [ -n \"$procs\" ]; then echo 0 > \"$procs\"; fi",
          // Everything below lives in this mount namespace only and vanishes with it. Its tmpfs
          // (the writable layer of a writable root) and /tmp hold at most the memory size each.
          "mount -t tmpfs -o mode=755,size=${mb}m tmpfs \"$dir\"",
          "ro=ro; [ \"$writable\" = true ] && ro=rw",
          "if [ \"$layout\" = FULL_ROOTFS ]; then",
          "  root=$dir/root; mkdir \"$root\" \"$dir/upper\" \"$dir/work\"",
          // The instance's own layer is its user's: it may create files at its root, while
          // everything from the image keeps the image's owners.
          "  [ \"$writable\" = true ] && chown \"$uid:$gid\" \"$dir/upper\"",
          "  if ! mount -t overlay overlay -o \"lowerdir=$src,upperdir=$dir/upper,workdir=$dir/work\""
              + " \"$root\" 2>/dev/null; then",
          // Without overlayfs a single layer is bound read-only; several cannot be merged.
          "    case $src in *:*) echo 'several image layers need overlayfs, which this kernel lacks' >&2;"
              + " exit " + SETUP_FAILED + ";; esac",
          "    mount --rbind \"$src\" \"$root\"; ro=ro",
          "  fi",
          "else",
          "  root=$dir",
          "  for d in bin sbin lib lib32 lib64 libx32 usr etc; do",
          "    if [ -L \"/$d\" ]; then ln -s \"$(readlink \"/$d\")\" \"$root/$d\"",
          "    elif [ -d \"/$d\" ]; then mkdir \"$root/$d\"; mount --rbind \"/$d\" \"$root/$d\";"
              + " mount -o remount,bind,ro,nosuid,nodev \"$root/$d\"; fi",
          "  done",
          "  mkdir -p \"$root/var/task\"",
          "  mount --bind \"$src\" \"$root/var/task\"",
          "  mount -o remount,bind,$ro,nosuid,nodev \"$root/var/task\"",
          "fi",
          "mkdir -p \"$root/proc\" \"$root/tmp\" \"$root/dev\"",
          "mount -t proc -o nosuid,nodev,noexec proc \"$root/proc\"",
          "mount -t tmpfs -o mode=1777,nosuid,nodev,size=${mb}m tmpfs \"$root/tmp\"",
          "mount -t tmpfs -o mode=755,nosuid tmpfs \"$root/dev\"",
          "for n in null zero full random urandom; do",
          "  touch \"$root/dev/$n\"; mount --bind \"/dev/$n\" \"$root/dev/$n\"",
          "done",
          "ln -s /proc/self/fd \"$root/dev/fd\"",
          "hostname \"$host\"",
          "if [ \"$layout\" = FULL_ROOTFS ]; then mount -o remount,bind,$ro,nosuid,nodev \"$root\"; fi",
          // A fork bomb must not exhaust the TD's PIDs: RLIMIT_NPROC binds once the uid changes.
          // It counts per user, so it caps all instances together, never the agent (root).
          "lim=''; if command -v prlimit >/dev/null; then lim='prlimit --nproc="
              + MAX_FUNCTION_PROCESSES + ":" + MAX_FUNCTION_PROCESSES + "'; fi",
          // Where no cgroup holds the instance, each of its processes gets RLIMIT_AS.
          "if [ \"$as\" != 0 ]; then lim=\"prlimit --as=$as:$as ${lim#prlimit }\"; fi",
          "exec setsid $lim " + IsolationProbe.UNSHARE + " --root=\"$root\" --wd=\"$wd\""
              + " --setuid \"$uid\" --setgid \"$gid\" -- \"$@\"");

  // $1 the instance cgroup's cgroup.procs or "", $2 the RLIMIT_AS in bytes (0: none), then argv.
  private static final String JOIN_LIMIT =
      String.join(
          "\n",
          "procs=$1 as=$2",
          "shift 2",
          "if [ -n \"$procs\" ]; then echo 0 > \"$procs\" || exit " + SETUP_FAILED + "; fi",
          "if [ \"$as\" != 0 ]; then exec prlimit --as=$as:$as -- \"$@\"; fi",
          "exec \"$@\"");

  private final IsolationReport isolation;
  private final int uid;
  private final int gid;

  InstanceLauncher(IsolationReport isolation, int uid, int gid) {
    this.isolation = isolation;
    this.uid = uid;
    this.gid = gid;
  }

  /** LAMBDA_TASK_ROOT as the function will see it. */
  String taskRoot(FunctionSpec spec) {
    if (!isolation.namespaces()) {
      return spec.layout() == FunctionSpec.RootLayout.TASK_DIRECTORY
          ? spec.root().toString()
          : spec.root().resolve(spec.workingDir().substring(1)).toString();
    }
    return spec.layout() == FunctionSpec.RootLayout.TASK_DIRECTORY
        ? FunctionSpec.TASK_ROOT
        : spec.workingDir();
  }

  /**
   * Builds the process of one instance; the caller starts it (from the thread whose network
   * namespace the instance should have).
   *
   * @param instanceDir an empty directory owned by this instance (its root is built there)
   */
  ProcessBuilder command(
      FunctionSpec spec,
      String instanceId,
      Path instanceDir,
      Map<String, String> env,
      MemoryLimit.Instance memory) {
    List<String> argv = new ArrayList<>();
    File cwd;
    if (isolation.namespaces()) {
      argv.addAll(
          List.of(
              IsolationProbe.UNSHARE.toString(), "--mount", "--pid", "--ipc", "--uts", "--fork",
              "--kill-child", "--propagation", "private", "--", "/bin/sh", "-c", SETUP,
              "confaas-instance-setup", spec.layout().name(),
              sourceRoot(spec), instanceDir.toString(), spec.workingDir(),
              Integer.toString(uid), Integer.toString(gid), Boolean.toString(spec.writableFs()),
              memory.procsFile(), instanceId, Integer.toString(memory.memoryMb()),
              Long.toString(memory.addressSpaceLimit())));
      argv.addAll(spec.entrypoint());
      cwd = new File("/");
    } else {
      if (spec.layout() == FunctionSpec.RootLayout.FULL_ROOTFS) {
        throw new IllegalStateException(
            "image " + spec.imageId() + " is a full root filesystem, which needs mount namespaces"
                + " and chroot; this host allows neither (see the agent's isolation report)");
      }
      // No isolation available: run the entrypoint where it lies on the agent's own filesystem,
      // still within its memory limit when there is one.
      if (!memory.procsFile().isEmpty() || memory.addressSpaceLimit() > 0) {
        argv.addAll(List.of("/bin/sh", "-c", JOIN_LIMIT, "confaas-instance-limit", memory.procsFile(),
            Long.toString(memory.addressSpaceLimit())));
      }
      argv.add(hostPath(spec, spec.entrypoint().get(0)));
      argv.addAll(spec.entrypoint().subList(1, spec.entrypoint().size()));
      cwd = new File(taskRoot(spec));
    }
    ProcessBuilder pb = new ProcessBuilder(argv).directory(cwd);
    pb.environment().clear();
    pb.environment().putAll(env);
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    return pb;
  }

  /**
   * The overlay's lower directories: the image's layers top first (overlayfs lists the uppermost
   * lower directory first), or the one root directory.
   */
  static String sourceRoot(FunctionSpec spec) {
    if (spec.layers().isEmpty()) {
      return spec.root().toAbsolutePath().toString();
    }
    List<String> top = new ArrayList<>();
    for (int i = spec.layers().size() - 1; i >= 0; i--) {
      top.add(spec.layers().get(i).toAbsolutePath().toString());
    }
    return String.join(":", top);
  }

  /** Where a path inside the instance lies on the agent's filesystem, without a chroot. */
  private static String hostPath(FunctionSpec spec, String program) {
    Path root = spec.root().toAbsolutePath();
    String prefix = FunctionSpec.TASK_ROOT + "/";
    return program.startsWith(prefix) ? root.resolve(program.substring(prefix.length())).toString() : program;
  }
}
