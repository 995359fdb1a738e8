/**
 * The guest image that TDs of the {@code qemu} and {@code qemu-tdx} backends boot: a kernel and an
 * initramfs built reproducibly from packages ({@link dev.confaas.pool.guest.GuestImageBuilder}),
 * whose init runs the same agent as the {@code process} backend, and its description ({@link
 * dev.confaas.pool.guest.GuestImage}: command line, digests, the agent's measured artifacts).
 * {@code confaas guest build} makes one; {@link dev.confaas.pool.QemuTdLauncher} boots it.
 */
package dev.confaas.pool.guest;
