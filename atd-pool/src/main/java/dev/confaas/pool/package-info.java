/**
 * Launching TDs on a backend ({@code process}, {@code qemu}, {@code qemu-tdx}), attesting them at
 * boot, and keeping a warm pool of attested, idle TDs with their pinned agent channels. It
 * speaks to agents only through {@code agent-api} ({@link dev.confaas.agent.AgentClient}); the
 * agent program (function-runtime) is launched, never linked.
 *
 * <p>Contract: {@link dev.confaas.pool.TdLauncher} boots a {@link dev.confaas.pool.LaunchedTd}; a
 * {@link dev.confaas.pool.TdAttestor} turns it into an {@link dev.confaas.pool.AttestedTd} whose
 * agent client's channel is pinned to the identity key its quote binds. The {@code process} backend is {@link
 * dev.confaas.pool.ProcessTdLauncher} (one agent JVM per TD, simulated TDX); the {@code qemu} and
 * {@code qemu-tdx} backends are {@link dev.confaas.pool.QemuTdLauncher} (one QEMU guest per TD,
 * booting the image of {@link dev.confaas.pool.guest}, KVM or TCG; with TDX options on a TDX host);
 * both share {@code ChildProcessLauncher} (host identity, dev PKI, TD directories, stopping). {@link
 * dev.confaas.pool.QuoteTdAttestor} attests any backend (handshake described there). {@link
 * dev.confaas.pool.TdTimeouts} gives each backend's limits (boot, attestation calls, health checks,
 * a function's init, image loads), generous where its TDs are slow (TCG):
 *
 * <pre>{@code
 * try (ProcessTdLauncher launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(poolDir));
 *     AttestedTd td = launcher.attestor().attest(launcher.launch("td-1"))) {
 *   td.agent().addManifest(request).join();
 * }
 * }</pre>
 *
 * <p>{@link dev.confaas.pool.WarmPool} keeps {@link dev.confaas.pool.PoolConfig#target()} attested
 * TDs idle, hands them out ({@link dev.confaas.pool.WarmPool#acquire()} → {@link
 * dev.confaas.pool.PooledTd}), checks, recycles and drains them, and lists them ({@link
 * dev.confaas.pool.WarmPool#tds()} → {@link dev.confaas.pool.TdInfo}) for {@code GET /v1/tds}.
 *
 * <p>{@link dev.confaas.pool.TdLogStreams} follows each attested TD's function output (StreamLogs),
 * reconnecting with back-off while the TD lives.
 */
package dev.confaas.pool;
