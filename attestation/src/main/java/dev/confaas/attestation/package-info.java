/**
 * Intel TDX attestation: quote v4/v5 parsing, DCAP verification against Intel collateral, appraisal
 * against reference values, ACON RTMR log replay, the simulated TDX module used where there is no TDX,
 * and the guest interfaces (configfs-tsm, /dev/tdx_guest, RTMR sysfs).
 */
package dev.confaas.attestation;
