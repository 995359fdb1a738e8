/**
 * Launching TDs on a backend ({@code process}, {@code qemu}, {@code qemu-tdx}), attesting them at boot,
 * and keeping a warm pool of attested, idle TDs with their pinned agent channels.
 *
 * <p>{@link dev.confaas.pool.TdLauncher} boots, {@link dev.confaas.pool.TdAttestor} attests, and
 * {@link dev.confaas.pool.WarmPool} keeps {@link dev.confaas.pool.PoolConfig#target()} attested TDs
 * idle, hands them out ({@link dev.confaas.pool.WarmPool#acquire()} → {@link
 * dev.confaas.pool.PooledTd}), checks, recycles and drains them, and lists them ({@link
 * dev.confaas.pool.WarmPool#tds()} → {@link dev.confaas.pool.TdInfo}) for {@code GET /v1/tds}.
 */
package dev.confaas.pool;
