package dev.confaas.attestation;

/** The checks {@link QuoteVerifier} makes, in the order it makes them; a failure names one. */
public enum QuoteCheck {
  /** The quote bytes parse (v4/v5 layout, consistent lengths). */
  QUOTE_FORMAT,
  /** The PCK chain (and the collateral) end in the root the verifier trusts. */
  TRUSTED_ROOT,
  /** PCK leaf → PCK CA → root: signatures, names, validity windows, CA constraints. */
  PCK_CHAIN,
  /** Root CA CRL: signature by the root, validity window, and no certificate of ours on it. */
  ROOT_CA_CRL,
  /** PCK CRL: issued by the PCK CA, validity window, PCK leaf not revoked. */
  PCK_CRL,
  /** TCB Info signature by the TCB signing certificate, and that certificate's chain. */
  TCB_INFO_SIGNATURE,
  /** TCB Info issueDate/nextUpdate window. */
  TCB_INFO_VALIDITY,
  /** QE Identity signature by the TCB signing certificate, and that certificate's chain. */
  QE_IDENTITY_SIGNATURE,
  /** QE Identity issueDate/nextUpdate window. */
  QE_IDENTITY_VALIDITY,
  /** QE report signed by the PCK leaf key. */
  QE_REPORT_SIGNATURE,
  /** QE report data binds the attestation key and the QE authentication data. */
  QE_REPORT_DATA,
  /** Quote header and body signed by the attestation key. */
  QUOTE_SIGNATURE,
  /** QE report matches the TD_QE identity (MRSIGNER, ISVPRODID, MISCSELECT, ATTRIBUTES, ISVSVN). */
  QE_IDENTITY,
  /** TCB Info is TDX v3 for this platform's FMSPC and PCE ID. */
  TCB_INFO_MATCH,
  /** MRSIGNERSEAM/SEAMATTRIBUTES match the TDX module identity; module TCB level found. */
  TDX_MODULE,
  /** A TCB level matches the PCK's SGX SVNs, PCESVN and the TD's TEE_TCB_SVN; it is not revoked. */
  TCB_LEVEL
}
