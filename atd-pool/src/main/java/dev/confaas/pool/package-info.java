/**
 * Launching TDs on a backend ({@code process}, {@code qemu}, {@code qemu-tdx}), attesting them at boot,
 * and keeping a warm pool of attested, idle TDs with their pinned agent channels.
 */
package dev.confaas.pool;
