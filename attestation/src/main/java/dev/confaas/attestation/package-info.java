/**
 * Intel TDX attestation: quote v4/v5 parsing and writing ({@link
 * dev.confaas.attestation.TdxQuote}), DCAP verification against Intel collateral the way Intel's
 * QVL does it ({@link dev.confaas.attestation.QuoteVerifier}, {@link
 * dev.confaas.attestation.Collateral}, {@link dev.confaas.attestation.PcsCollateralSource}),
 * appraisal against reference values ({@link dev.confaas.attestation.ReferenceValues}), ACON RTMR
 * log replay ({@link dev.confaas.attestation.RtmrLog}), the simulated TDX module used where there
 * is no TDX ({@link dev.confaas.attestation.SimulatedTdxModule} under a {@link
 * dev.confaas.attestation.SimulatedPki}), and the Linux guest interfaces (configfs-tsm,
 * /dev/tdx_guest, RTMR sysfs; {@link dev.confaas.attestation.TdxGuests}).
 */
package dev.confaas.attestation;
