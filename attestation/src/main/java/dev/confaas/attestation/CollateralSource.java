package dev.confaas.attestation;

/** Where {@link QuoteVerifier} gets the collateral for a platform. */
interface CollateralSource {

  /**
   * Collateral for platforms of {@code fmspc} (hex) whose PCK was issued by the {@code pckCa} CA
   * ({@code platform} or {@code processor}).
   */
  Collateral collateral(String fmspc, String pckCa);

  /**
   * A source that always answers with {@code collateral} (e.g. from a directory or a simulator).
   */
  static CollateralSource of(Collateral collateral) {
    java.util.Objects.requireNonNull(collateral, "collateral");
    return (fmspc, pckCa) -> collateral;
  }

  /** Collateral for the platform that produced {@code quote} (FMSPC and CA read from its PCK). */
  default Collateral collateralFor(TdxQuote quote) {
    var chain =
        Pem.chain(
            new String(
                    quote.signatureData().pckCertChain(),
                    java.nio.charset.StandardCharsets.US_ASCII)
                .replace("\0", ""),
            "PCK certificate chain");
    var leaf = chain.get(0);
    String issuer = QuoteVerifier.commonName(leaf.getIssuerX500Principal());
    String ca = issuer.contains("Processor") ? "processor" : "platform";
    return collateral(CollateralHex.of(PckExtensions.of(leaf).fmspc()), ca);
  }
}
