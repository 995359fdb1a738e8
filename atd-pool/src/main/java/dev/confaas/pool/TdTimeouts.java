package dev.confaas.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * How long each step of a TD's life may take, by the pace of its backend: the defaults an owner
 * uses for every limit it was not given. A TD whose vCPUs QEMU emulates (TCG) runs the same agent
 * many times slower than a host process or a KVM guest (its JVM starts in a minute rather than a
 * second on a loaded machine), and a slow TD is not a broken one: its limits are generous.
 *
 * @param boot from launch until the agent serves
 * @param attest each agent call of an attestation (Report, Inspect on the pinned channel)
 * @param inspect the periodic health check's Inspect; a late answer is load, never a loss on its own
 *     ({@link TdHealth})
 * @param functionInit how long a new function instance in the TD has to ask for its first event
 *     (the agent's init limit; Lambda's is 10 s)
 * @param load loading an image into the TD and starting an instance (the scheduler's limit)
 * @param invokeGrace added to a function's timeout for the Invoke call; it also covers a fresh
 *     instance's init, which the first Invoke waits for
 * @param queueAllowance added to a function's timeout to form the deadline of a call that sets
 *     none: how long it may wait for an instance, which includes a cold start (load, start, init)
 */
public record TdTimeouts(
    Duration boot,
    Duration attest,
    Duration inspect,
    Duration functionInit,
    Duration load,
    Duration invokeGrace,
    Duration queueAllowance) {

  public TdTimeouts {
    positive(boot, "boot");
    positive(attest, "attest");
    positive(inspect, "inspect");
    positive(functionInit, "functionInit");
    positive(load, "load");
    Objects.requireNonNull(invokeGrace, "invokeGrace");
    Objects.requireNonNull(queueAllowance, "queueAllowance");
  }

  /**
   * The defaults of {@code backend} ({@code process}, {@code qemu}, {@code qemu-tdx}) on {@code
   * accelerator} ({@code none}, {@code kvm}, {@code tcg}).
   *
   * @throws IllegalArgumentException for another backend
   */
  public static TdTimeouts of(String backend, String accelerator) {
    switch (backend) {
      case "process":
        return new TdTimeouts(
            Duration.ofMinutes(2),
            Duration.ofSeconds(30),
            Duration.ofSeconds(5),
            Duration.ofSeconds(10),
            Duration.ofMinutes(1),
            Duration.ofSeconds(5),
            Duration.ofSeconds(10));
      case "qemu":
      case "qemu-tdx":
        if ("tcg".equals(accelerator)) {
          // Measured here (2 cores shared with other builds, load average 12 to 25): 3 to 6
          // minutes from QEMU's start to the agent serving, 35 s more to attested, a shell
          // function's first call 20 to 60 s. Each limit is well above that.
          Duration init = Duration.ofMinutes(2);
          return new TdTimeouts(
              Duration.ofMinutes(15),
              Duration.ofMinutes(3),
              Duration.ofSeconds(30),
              init,
              Duration.ofMinutes(5),
              init.plusSeconds(30),
              Duration.ofMinutes(5));
        }
        return new TdTimeouts(
            Duration.ofMinutes(3),
            Duration.ofSeconds(30),
            Duration.ofSeconds(5),
            Duration.ofSeconds(10),
            Duration.ofMinutes(1),
            Duration.ofSeconds(15),
            Duration.ofSeconds(30));
      default:
        throw new IllegalArgumentException(
            "no backend \"" + backend + "\"; the backends are process, qemu and qemu-tdx");
    }
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, was " + d);
    }
  }
}
