package dev.confaas.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.confaas.attestation.Appraisal;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.TcbStatus;
import dev.confaas.attestation.TdReport;
import dev.confaas.attestation.TdxQuote;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code confaas attest}: Verify TDX quotes and replay RTMR logs. */
@Command(
    name = "attest",
    mixinStandardHelpOptions = true,
    description = "Verify TDX quotes and replay RTMR logs.",
    footer = {
      "",
      "Examples:",
      "  confaas attest verify-quote quote.dat --collateral collateral/",
      "  confaas attest replay-rtmr rtmr3.log --quote quote.dat"
    },
    subcommands = {
      AttestCommand.VerifyQuote.class,
      AttestCommand.ReplayRtmr.class,
      CommandLine.HelpCommand.class
    })
final class AttestCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas attest --help'");
  }

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final HexFormat HEX = HexFormat.of();

  static byte[] readFile(Path p, String what) {
    try {
      return Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      throw new Main.CliException(what + " " + p + " does not exist");
    } catch (IOException e) {
      throw new Main.CliException("cannot read " + what + " " + p + ": " + e.getMessage(), e);
    }
  }

  static void printJson(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code confaas attest verify-quote}: DCAP verification plus the default appraisal. */
  @Command(
      name = "verify-quote",
      mixinStandardHelpOptions = true,
      description = {
        "Verify a TDX quote (v4/v5) against Intel DCAP collateral and appraise it.",
        "Exit 0 if it verifies to the trusted root and passes appraisal (debug TDs are",
        "refused unless --allow-debug), 1 naming the failed check otherwise."
      },
      footer = {
        "",
        "Examples:",
        "  confaas attest verify-quote quote.dat --collateral collateral/",
        "  confaas attest verify-quote quote.dat --collateral collateral/ \\",
        "      --at 2026-04-01T00:00:00Z --min-tcb UpToDate --json",
        "  confaas attest verify-quote quote.dat \\",
        "      --collateral ~/.confaas/attestation/collateral \\",
        "      --trust-root ~/.confaas/attestation/dev-root.pem   # simulated TDX"
      })
  static final class VerifyQuote implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "QUOTE", description = "Raw quote file.")
    Path quote;

    @Option(
        names = "--collateral",
        required = true,
        paramLabel = "DIR",
        description =
            "Directory with tcb_info.json, qe_identity.json, tcb_info_issuer_chain.pem,"
                + " qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der"
                + " [, pck_crl_issuer_chain.pem, trusted_root.pem].")
    Path collateral;

    @Option(
        names = "--at",
        paramLabel = "ISO-8601",
        description = "Verify as of this instant (e.g. 2026-04-01T00:00:00Z); default: now.")
    String at;

    @Option(names = "--allow-debug", description = "Accept debug TDs (never in production).")
    boolean allowDebug;

    @Option(
        names = "--trust-root",
        paramLabel = "PEM",
        description =
            "Trust this root instead of Intel's SGX Root CA (e.g. a simulator's dev root).")
    Path trustRoot;

    @Option(
        names = "--min-tcb",
        paramLabel = "STATUS",
        defaultValue = "OutOfDateConfigurationNeeded",
        description =
            "Worst TCB status accepted: UpToDate, SWHardeningNeeded, ConfigurationNeeded,"
                + " ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded"
                + " (default: ${DEFAULT-VALUE}; Revoked never verifies).")
    String minTcb;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      Clock clock = clock();
      TcbStatus worst;
      try {
        worst = TcbStatus.fromPcs(minTcb);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--min-tcb: " + e.getMessage());
      }
      byte[] quoteBytes = readFile(quote, "quote");
      Collateral c;
      try {
        c = Collateral.load(collateral);
      } catch (IllegalArgumentException e) {
        throw new Main.CliException(e.getMessage(), e);
      }
      QuoteVerifier verifier =
          trustRoot == null
              ? QuoteVerifier.intel(clock)
              : QuoteVerifier.trusting(readRoot(trustRoot), clock);
      QuoteVerification v = verifier.verify(quoteBytes, c);
      Appraisal a =
          ReferenceValues.builder()
              .allowDebug(allowDebug)
              .worstTcbStatus(worst)
              .build()
              .appraise(v);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        printJson(out, toJson(v, a));
      } else {
        printText(out, v, a);
      }
      out.flush();
      if (!v.verified()) {
        throw new Main.CliException(
            "quote rejected: " + v.failedCheck().orElseThrow() + ": " + v.message());
      }
      if (!a.accepted()) {
        throw new Main.CliException("quote verified but appraisal failed: " + a.failures());
      }
      return 0;
    }

    private Clock clock() {
      if (at == null) {
        return Clock.systemUTC();
      }
      try {
        return Clock.fixed(Instant.parse(at), ZoneOffset.UTC);
      } catch (DateTimeParseException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "--at: '" + at + "' is not an ISO-8601 instant like 2026-04-01T00:00:00Z");
      }
    }

    static X509Certificate readRoot(Path pem) {
      try {
        var certs =
            java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificates(
                    new java.io.ByteArrayInputStream(readFile(pem, "trust root")));
        if (certs.isEmpty()) {
          throw new Main.CliException("trust root " + pem + " holds no PEM certificate");
        }
        return (X509Certificate) certs.iterator().next();
      } catch (java.security.cert.CertificateException e) {
        throw new Main.CliException(
            "trust root " + pem + " is not a PEM certificate: " + e.getMessage(), e);
      }
    }

    private static Map<String, Object> toJson(QuoteVerification v, Appraisal a) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("verified", v.verified());
      m.put("accepted", v.verified() && a.accepted());
      v.failedCheck().ifPresent(k -> m.put("failedCheck", k.name()));
      m.put("message", v.message());
      v.tcbStatus().ifPresent(s -> m.put("tcbStatus", s.pcsName()));
      m.put("advisoryIds", v.advisoryIds());
      v.fmspc().ifPresent(f -> m.put("fmspc", f));
      v.rootSubject().ifPresent(r -> m.put("root", r));
      m.put("simulated", v.simulated());
      m.put("verifiedAt", v.verifiedAt().toString());
      v.quote().ifPresent(q -> m.put("quoteVersion", q.version()));
      v.measurements().ifPresent(r -> m.put("measurements", measurements(r)));
      m.put(
          "appraisalFailures",
          a.failures().stream()
              .map(f -> Map.of("check", f.check().name(), "message", f.message()))
              .toList());
      return m;
    }

    private static Map<String, String> measurements(TdReport r) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("TEE_TCB_SVN", HEX.formatHex(r.teeTcbSvn()));
      m.put("MRSEAM", HEX.formatHex(r.mrSeam()));
      m.put("MRSIGNERSEAM", HEX.formatHex(r.mrSignerSeam()));
      m.put("SEAMATTRIBUTES", HEX.formatHex(r.seamAttributes()));
      m.put("TDATTRIBUTES", HEX.formatHex(r.tdAttributes()));
      m.put("XFAM", HEX.formatHex(r.xfam()));
      m.put("MRTD", HEX.formatHex(r.mrTd()));
      m.put("MRCONFIGID", HEX.formatHex(r.mrConfigId()));
      m.put("MROWNER", HEX.formatHex(r.mrOwner()));
      m.put("MROWNERCONFIG", HEX.formatHex(r.mrOwnerConfig()));
      for (int i = 0; i < 4; i++) {
        m.put("RTMR" + i, HEX.formatHex(r.rtmr(i)));
      }
      m.put("REPORTDATA", HEX.formatHex(r.reportData()));
      if (r.teeTcbSvn2() != null) {
        m.put("TEE_TCB_SVN2", HEX.formatHex(r.teeTcbSvn2()));
        m.put("MRSERVICETD", HEX.formatHex(r.mrServiceTd()));
      }
      return m;
    }

    private static void printText(PrintWriter out, QuoteVerification v, Appraisal a) {
      if (v.verified()) {
        out.println("verified: TCB status " + v.tcbStatus().orElseThrow().pcsName());
        out.println(
            "advisories: "
                + (v.advisoryIds().isEmpty() ? "none" : String.join(", ", v.advisoryIds())));
        out.println("fmspc: " + v.fmspc().orElse("?"));
        out.println("root: " + v.rootSubject().orElse("?"));
        if (v.simulated()) {
          out.println("WARNING: SIMULATED TDX quote: it proves nothing about hardware");
        }
      } else {
        out.println("NOT verified: " + v.failedCheck().orElseThrow() + ": " + v.message());
      }
      out.println("verified at: " + v.verifiedAt());
      v.measurements()
          .ifPresent(
              r -> {
                out.println("measurements" + (v.verified() ? ":" : " (claimed, not verified):"));
                measurements(r).forEach((k, val) -> out.println("  " + k + " " + val));
                out.println("  debug TD: " + (r.debug() ? "YES" : "no"));
              });
      out.println("appraisal: " + a);
    }
  }

  /** {@code confaas attest replay-rtmr}: the RTMR value an ACON log replays to. */
  @Command(
      name = "replay-rtmr",
      mixinStandardHelpOptions = true,
      description = {
        "Replay an ACON RTMR log and print the resulting RTMR value in hex.",
        "One entry per line; each is SHA-384-extended from 48 zero bytes. With --quote,",
        "compare the value to the quote's RTMR3 and exit 1 if they differ."
      },
      footer = {
        "",
        "Examples:",
        "  confaas attest replay-rtmr rtmr3.log",
        "  confaas attest replay-rtmr rtmr3.log --quote quote.dat --json"
      })
  static final class ReplayRtmr implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
        index = "0",
        paramLabel = "LOG",
        description = "Log file (LF- or NUL-separated lines).")
    Path log;

    @Option(
        names = "--quote",
        paramLabel = "QUOTE",
        description = "Compare with this quote's RTMR3.")
    Path quote;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      RtmrLog replayed;
      try {
        replayed = RtmrLog.parse(new String(readFile(log, "RTMR log"), StandardCharsets.US_ASCII));
      } catch (IllegalArgumentException e) {
        throw new Main.CliException(log + ": " + e.getMessage(), e);
      }
      RtmrLog.Comparison cmp = null;
      if (quote != null) {
        try {
          cmp = replayed.compareTo(TdxQuote.parse(readFile(quote, "quote")).report().rtmr(3));
        } catch (IllegalArgumentException e) {
          throw new Main.CliException(quote + ": " + e.getMessage(), e);
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rtmr", replayed.valueHex());
        m.put("lines", replayed.size());
        if (cmp != null) {
          m.put("matchesQuote", cmp.matches());
          m.put("linesCoveredByQuote", cmp.linesCovered());
          m.put("message", cmp.message());
        }
        printJson(out, m);
      } else {
        out.println(replayed.valueHex());
        if (cmp != null) {
          out.println(cmp.message());
        }
      }
      out.flush();
      if (cmp != null && !cmp.matches()) {
        throw new Main.CliException("RTMR3 mismatch: " + cmp.message());
      }
      return 0;
    }
  }
}
