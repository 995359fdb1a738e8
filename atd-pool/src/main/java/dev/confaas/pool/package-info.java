/**
 * Launching TDs on a backend ({@code process}, {@code qemu}, {@code qemu-tdx}), attesting them at
 * boot, and keeping a warm pool of attested, idle TDs with their pinned agent channels.
 *
 * <p>Contract: {@link dev.confaas.pool.TdLauncher} boots a {@link dev.confaas.pool.LaunchedTd}; a
 * {@link dev.confaas.pool.TdAttestor} turns it into an {@link dev.confaas.pool.AttestedTd} whose
 * channel is pinned to the identity key its quote binds. The {@code process} backend is {@link
 * dev.confaas.pool.ProcessTdLauncher} (one agent JVM per TD, simulated TDX); {@link
 * dev.confaas.pool.QuoteTdAttestor} attests any backend (handshake described there):
 *
 * <pre>{@code
 * try (ProcessTdLauncher launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(poolDir));
 *     AttestedTd td = launcher.attestor().attest(launcher.launch("td-1"))) {
 *   TdAgentGrpc.newBlockingStub(td.channel()).addManifest(...);
 * }
 * }</pre>
 */
package dev.confaas.pool;
