/**
 * Reference values for a TD, computed from the files it boots instead of read from a first boot:
 * what a TDX host will report for a guest started by QEMU with TDVF (OVMF built with TDX support)
 * and a direct-boot kernel, initrd and command line ({@code confaas guest measure}).
 *
 * <ul>
 *   <li>{@link dev.confaas.attestation.measure.TdvfFirmware}: the TDVF metadata of a firmware file
 *       (TDX Virtual Firmware Design Guide, "TDVF metadata"; found through the OVMF GUIDed table
 *       that ends 0x20 bytes before the end of the image) and MRTD, replayed as the TDX module
 *       builds it from {@code TDH.MEM.PAGE.ADD} and {@code TDH.MR.EXTEND} (Intel TDX module ABI
 *       spec), in the page order of the host's QEMU/KVM ({@link
 *       dev.confaas.attestation.measure.PageAddOrder}).
 *   <li>{@link dev.confaas.attestation.measure.DirectBoot}: RTMR1 and RTMR2 as TDVF's event log
 *       extends them for direct kernel boot: the Authenticode SHA-384 of the kernel as QEMU patched
 *       its setup header, the fixed boot-path events, the command line and the initrd.
 * </ul>
 *
 * <p>RTMR0 (TD HOB, ACPI tables, EFI variables) depends on the whole QEMU machine configuration and
 * is not computed here. The attestation module's README says which values were checked against an
 * outside source.
 */
package dev.confaas.attestation.measure;
