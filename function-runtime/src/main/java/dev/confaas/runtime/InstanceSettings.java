package dev.confaas.runtime;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The deployment one instance serves (agent.proto {@code FunctionSettings}): what the function sees
 * as {@code AWS_LAMBDA_FUNCTION_NAME}, {@code _VERSION} and {@code _MEMORY_SIZE}, and its configured
 * timeout. Per instance, not per image: two deployments of one image may share a TD.
 *
 * @param name 1 to 140 of {@code [A-Za-z0-9_-]}
 * @param version 1 to 64 printable ASCII characters, e.g. {@code 3} or {@code $LATEST}
 * @param memoryMb 16 to 65536; also the instance's memory limit where cgroups allow
 * @param timeout used for an Invoke of this instance that names no timeout of its own
 */
record InstanceSettings(String name, String version, int memoryMb, Duration timeout) {
  static final int MIN_MEMORY_MB = 16;
  static final int MAX_MEMORY_MB = 65_536;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,140}");
  private static final Pattern VERSION = Pattern.compile("[\\x21-\\x7e]{1,64}");

  /**
   * @throws IllegalArgumentException naming the setting that is out of its limits
   */
  public InstanceSettings {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(timeout, "timeout");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "function name \"" + name + "\" must be 1 to 140 letters, digits, '-' or '_'");
    }
    if (!VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException(
          "function version \"" + version + "\" must be 1 to 64 printable ASCII characters");
    }
    if (memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB) {
      throw new IllegalArgumentException(
          "memory size " + memoryMb + " MB must be " + MIN_MEMORY_MB + " to " + MAX_MEMORY_MB);
    }
    if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(Invocation.MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException(
          "timeout " + timeout.toMillis() + " ms must be 1 to " + Invocation.MAX_TIMEOUT.toMillis());
    }
  }

  /** The image's own defaults: its self alias (or short ID) and version, its memory size, 3 s. */
  public static InstanceSettings defaults(FunctionSpec spec) {
    return new InstanceSettings(spec.name(), spec.version(), spec.memoryMb(), Invocation.DEFAULT_TIMEOUT);
  }
}
