package dev.confaas.pool;

/**
 * Boots TDs on one backend ({@code process}, {@code qemu} or {@code qemu-tdx}). Nothing above
 * atd-pool knows which backend is in use: all of them boot the same agent, which speaks the same
 * gRPC API ({@code agent.proto}).
 *
 * <p>{@link #launch} blocks while the TD boots; call it from a worker thread, never an event loop.
 */
interface TdLauncher extends AutoCloseable {

  /** The backend's name as configured and shown in {@code GET /v1/tds}, e.g. {@code process}. */
  String backend();

  /**
   * What runs the TDs' vCPUs, as shown in {@code GET /v1/tds}: {@code kvm} or {@code tcg} for a
   * VM, {@code none} for agent processes on the host. Never blocks.
   */
  default String accelerator() {
    return "none";
  }

  /**
   * Boots a TD and returns once its agent accepts connections. The TD is not trusted yet: a {@link
   * TdAttestor} must attest it before any work is sent to it.
   *
   * @param tdId the platform-unique ID to give the TD (used in logs, paths and API output)
   * @throws TdLaunchException when the TD did not come up; the message says why
   */
  LaunchedTd launch(String tdId) throws TdLaunchException;

  /** Stops every TD this launcher started that is still running. */
  @Override
  void close();
}
