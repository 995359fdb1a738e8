package dev.confaas.vendor.framework;

import dev.confaas.image.LayerTar;
import dev.confaas.image.LayerUnpacker;
import dev.confaas.vendor.framework.FrameworkLayers.BuiltLayer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs a framework layer merged with a function layer the way the agent does: the framework layer
 * below, the function's above, chrooted as uid/gid 65534 in new mount and PID namespaces with a
 * minimal /dev, its own /proc and a private tmpfs /tmp.
 */
final class LayerInstances {
  private LayerInstances() {}

  /** Unpacks {@code framework} and then {@code functionDir} (as a layer tar) into dir/root. */
  static Path merged(Path dir, BuiltLayer framework, Path functionDir) throws IOException {
    Path fnTar = dir.resolve("function.tar");
    LayerTar.write(functionDir, "", fnTar);
    Path root = dir.resolve("root");
    Files.createDirectories(root);
    LayerUnpacker.unpack(framework.tar(), root);
    LayerUnpacker.unpack(fnTar, root);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return root;
  }

  /**
   * Starts {@code entrypoint} in {@code root} with the Lambda variables for {@code handler} and
   * {@code api}; its output goes to {@code log}. Skips the test (assumption) without root and
   * unshare(1).
   */
  static Process start(Path root, List<String> entrypoint, String handler, RuntimeApiServer api,
      Path log) throws IOException {
    Assumptions.assumeTrue(canIsolate(), "needs root and unshare(1) to chroot a layer");
    String setup = String.join("\n",
        "set -e",
        "r=\"$1\"; shift",
        "mount -t tmpfs -o mode=0755 tmpfs \"$r/dev\"",
        "for d in null zero random urandom; do",
        "  touch \"$r/dev/$d\"; mount --bind \"/dev/$d\" \"$r/dev/$d\"",
        "done",
        "mount -t proc proc \"$r/proc\"",
        "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs \"$r/tmp\"",
        "exec chroot --userspec=65534:65534 \"$r\" \"$@\"");
    List<String> cmd = new ArrayList<>(List.of("unshare", "--mount", "--pid", "--fork",
        "--kill-child", "/bin/sh", "-c", setup, "setup", root.toString()));
    cmd.addAll(entrypoint);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.clear();
    env.putAll(Map.of(
        "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG", "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API", api.hostPort(),
        "_HANDLER", handler,
        "LAMBDA_TASK_ROOT", "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME", "test",
        "AWS_LAMBDA_FUNCTION_VERSION", "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"));
    return pb.start();
  }

  private static Boolean isolation;

  static synchronized boolean canIsolate() {
    if (isolation == null) {
      try {
        Process p = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "--kill-child",
            "true").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        isolation = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
      } catch (IOException | InterruptedException e) {
        isolation = false;
      }
    }
    return isolation;
  }
}
