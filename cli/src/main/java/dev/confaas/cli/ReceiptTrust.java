package dev.confaas.cli;

import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.TdEvidence;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.PcsCollateralSource;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.TdxQuote;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import picocli.CommandLine.Option;

/**
 * What a caller trusts when it checks a TD's evidence or receipt (docs/receipts.md §5): Intel's root
 * with collateral from a directory or Intel's PCS, or — only when told — the simulated dev root of
 * the process and qemu backends, with the collateral {@code confaas up} writes under {@code
 * DATA/attestation/}.
 */
final class ReceiptTrust {
  static final URI INTEL_PCS = URI.create("https://api.trustedservices.intel.com");

  private ReceiptTrust() {}

  /** The options {@code verify} and {@code invoke --sealed} share. */
  static final class Options {
    @Option(names = "--collateral", paramLabel = "DIR",
        description = "DCAP collateral directory (tcb_info.json, qe_identity.json, CRLs, chains"
            + " [, trusted_root.pem]); default with --trust-dev-root: DATA/attestation/collateral.")
    Path collateral;

    @Option(names = "--pcs", description = "Fetch the collateral from Intel's PCS ("
        + "https://api.trustedservices.intel.com) for the quote's platform.")
    boolean pcs;

    @Option(names = "--trust-dev-root", description = "Trust the simulated TDX dev root (process and"
        + " qemu backends): the collateral directory's trusted_root.pem, else"
        + " DATA/attestation/dev-root.pem. Proves nothing about hardware; never in production.")
    boolean trustDevRoot;

    /**
     * A verifier for quotes like {@code evidence}'s.
     *
     * @throws Main.CliException naming what to give when the options do not say what to trust
     */
    ReceiptVerifier verifier(TdEvidence evidence, Clock clock) {
      if (pcs && collateral != null) {
        throw new Main.CliException("give either --collateral DIR or --pcs, not both");
      }
      Path data = GatewayEndpoint.dataDir(System.getenv());
      Path dir = collateral;
      if (dir == null && trustDevRoot && !pcs) {
        dir = data.resolve("attestation").resolve("collateral");
      }
      Collateral c;
      if (pcs) {
        try {
          c = new PcsCollateralSource(INTEL_PCS, clock).collateralFor(TdxQuote.parse(evidence.quote()));
        } catch (RuntimeException e) {
          throw new Main.CliException("cannot fetch collateral from Intel's PCS: " + e.getMessage(), e);
        }
      } else if (dir == null) {
        throw new Main.CliException("no collateral: give --collateral DIR or --pcs (or, for the"
            + " simulated TDX of the process backend, --trust-dev-root)");
      } else if (!Files.isDirectory(dir)) {
        throw new Main.CliException("collateral directory " + dir + " does not exist"
            + (collateral == null ? "; 'confaas up' writes it, or give --collateral DIR" : ""));
      } else {
        try {
          c = Collateral.load(dir);
        } catch (RuntimeException e) {
          throw new Main.CliException("cannot read the collateral in " + dir + ": " + e.getMessage(), e);
        }
      }
      QuoteVerifier quotes;
      if (trustDevRoot) {
        var root = c.trustedRoot().orElseGet(() ->
            AttestCommand.VerifyQuote.readRoot(data.resolve("attestation").resolve("dev-root.pem")));
        quotes = QuoteVerifier.trusting(root, clock);
      } else {
        quotes = QuoteVerifier.intel(clock);
      }
      return ReceiptVerifier.of(quotes, c);
    }
  }
}
