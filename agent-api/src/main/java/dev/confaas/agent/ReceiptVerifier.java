package dev.confaas.agent;

import dev.confaas.attestation.Appraisal;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.RtmrLog;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Checks a TD's receipt offline against that TD's evidence (docs/receipts.md, "Verifying"), and
 * says, check by check, what was established and what was not. Nothing here trusts the host: the
 * quote is verified with the caller's {@link QuoteVerifier} (pinned to Intel's root, or to a dev
 * root only when the caller chose to trust it) and collateral, and measurements are appraised
 * against the caller's reference values when given.
 *
 * <p>The chain of trust, in the order the checks run: the quote is genuine ({@link Check#QUOTE});
 * the TD runs the expected code ({@link Check#MEASUREMENTS}); its REPORTDATA binds the identity and
 * sealing keys in the evidence ({@link Check#KEY_BINDING}); the evidence's RTMR3 log replays to the
 * quoted RTMR3 ({@link Check#RTMR3_LOG}); the receipt is signed by that identity key ({@link
 * Check#SIGNATURE}) and names that TD ({@link Check#TD_ID}); the RTMR3 it states is the replay of a
 * prefix of that log ({@link Check#RECEIPT_RTMR3}), whose images are exactly those the receipt
 * lists, the handler's among them ({@link Check#IMAGES}); and the event and response hash to what
 * the receipt says ({@link Check#REQUEST_HASH}, {@link Check#RESPONSE_HASH}).
 */
public final class ReceiptVerifier {

  /** What one check establishes. */
  public enum Check {
    RECEIPT_FORMAT,
    QUOTE,
    MEASUREMENTS,
    KEY_BINDING,
    RTMR3_LOG,
    SIGNATURE,
    TD_ID,
    RECEIPT_RTMR3,
    IMAGES,
    REQUEST_HASH,
    RESPONSE_HASH,
    /** Sealed invocations only: the plaintexts, which only the caller can check. */
    PLAINTEXTS
  }

  public enum Outcome {
    PASS,
    FAIL,
    /** Not checked (nothing to check it against); the message says what that leaves open. */
    NOT_CHECKED
  }

  /** One line of the verdict. */
  public record Line(Check check, Outcome outcome, String message) {
    @Override
    public String toString() {
      return String.format("%-12s %-14s %s", outcome, check, message);
    }
  }

  /** The verdict: verified when no check failed. */
  public record Result(List<Line> lines, Optional<Receipt> receipt) {
    public Result {
      lines = List.copyOf(lines);
    }

    public boolean verified() {
      return lines.stream().noneMatch(l -> l.outcome() == Outcome.FAIL);
    }

    public Optional<Line> line(Check check) {
      return lines.stream().filter(l -> l.check() == check).findFirst();
    }

    public List<Line> failures() {
      return lines.stream().filter(l -> l.outcome() == Outcome.FAIL).toList();
    }

    @Override
    public String toString() {
      return (verified() ? "receipt VERIFIED" : "receipt REFUSED")
          + "\n"
          + lines.stream().map(Line::toString).collect(Collectors.joining("\n"));
    }
  }

  private final QuoteVerifier quotes;
  private final Collateral collateral;
  private final ReferenceValues reference; // null: use the evidence's, and say so

  private ReceiptVerifier(QuoteVerifier quotes, Collateral collateral, ReferenceValues reference) {
    this.quotes = quotes;
    this.collateral = collateral;
    this.reference = reference;
  }

  /**
   * A verifier that trusts the root {@code quotes} is pinned to and appraises measurements against
   * the reference values in the evidence (the host's claim; see {@link #withReferenceValues}).
   */
  public static ReceiptVerifier of(QuoteVerifier quotes, Collateral collateral) {
    return new ReceiptVerifier(quotes, collateral, null);
  }

  /**
   * The same verifier appraising MRTD, RTMR0..2 (and TCB status, debug) against the caller's own
   * reference values, e.g. from {@code confaas guest measure}. Its REPORTDATA and RTMR3 settings are
   * replaced per receipt.
   */
  public ReceiptVerifier withReferenceValues(ReferenceValues values) {
    return new ReceiptVerifier(quotes, collateral, values);
  }

  /**
   * Verifies a receipt.
   *
   * @param compactReceipt the compact JWS
   * @param evidence the evidence of the TD the receipt claims to come from
   * @param request the event bytes sent, or null to leave {@code event_sha256} unchecked
   * @param response the response bytes received, or null to leave {@code response_sha256} unchecked
   */
  public Result verify(String compactReceipt, TdEvidence evidence, byte[] request, byte[] response) {
    List<Line> lines = new ArrayList<>();
    Receipt receipt;
    try {
      receipt = Receipt.parse(compactReceipt);
      lines.add(pass(Check.RECEIPT_FORMAT, "a compact JWS, " + Receipt.ALG + ", typ " + Receipt.TYPE));
    } catch (IllegalArgumentException e) {
      lines.add(fail(Check.RECEIPT_FORMAT, e.getMessage()));
      return new Result(lines, Optional.empty());
    }
    Receipt.Claims c = receipt.claims();

    RtmrLog log = evidenceChecks(evidence, lines);

    // The receipt: signature by the bound key, then what it says against the log.
    PublicKey key = null;
    try {
      key = Receipt.ecPublicKey(evidence.identityPublicKey());
      String kid = Receipt.thumbprint(key);
      if (!kid.equals(receipt.keyId())) {
        lines.add(
            fail(
                Check.SIGNATURE,
                "the receipt's kid "
                    + receipt.keyId()
                    + " is not the thumbprint "
                    + kid
                    + " of this TD's identity key: the receipt comes from another TD"));
      } else if (!receipt.signedBy(key)) {
        lines.add(
            fail(
                Check.SIGNATURE,
                "the ES384 signature does not verify with the TD's identity key: the receipt was"
                    + " altered or not signed by this TD"));
      } else {
        lines.add(
            pass(
                Check.SIGNATURE,
                "signed (ES384) by the identity key the quote binds: made inside this TD"));
      }
    } catch (IllegalArgumentException e) {
      lines.add(fail(Check.SIGNATURE, e.getMessage()));
    }

    if (c.tdId().equals(evidence.tdId())) {
      lines.add(pass(Check.TD_ID, "names TD " + c.tdId() + ", whose evidence this is"));
    } else {
      lines.add(
          fail(
              Check.TD_ID,
              "the receipt names TD " + c.tdId() + " but the evidence is TD " + evidence.tdId()));
    }

    if (log != null) {
      int n = c.rtmr3LogLength();
      if (n > log.size()) {
        lines.add(
            fail(
                Check.RECEIPT_RTMR3,
                "the receipt covers "
                    + n
                    + " RTMR3 log entries but the evidence has only "
                    + log.size()
                    + ": fetch newer evidence for TD "
                    + evidence.tdId()));
        lines.add(notChecked(Check.IMAGES, "needs the RTMR3 log the receipt refers to"));
      } else {
        String replayed = HexFormat.of().formatHex(log.valueAfter(n));
        if (!replayed.equals(c.rtmr3())) {
          lines.add(
              fail(
                  Check.RECEIPT_RTMR3,
                  "the receipt's RTMR3 "
                      + c.rtmr3()
                      + " is not the replay "
                      + replayed
                      + " of the first "
                      + n
                      + " entries of the evidence's RTMR3 log"));
        } else {
          lines.add(
              pass(
                  Check.RECEIPT_RTMR3,
                  "RTMR3 then was the replay of the first " + n + " of the log's " + log.size() + " entries"));
        }
        List<String> loaded =
            log.lines().subList(0, n).stream()
                .filter(l -> l.startsWith(RtmrLog.ADD_MANIFEST_PREFIX))
                .map(l -> l.substring(RtmrLog.ADD_MANIFEST_PREFIX.length()))
                .toList();
        if (!loaded.contains(c.imageId())) {
          lines.add(
              fail(
                  Check.IMAGES,
                  "the receipt's image "
                      + c.imageId()
                      + " was not loaded in the TD by then (the log names "
                      + loaded
                      + ")"));
        } else if (!loaded.equals(c.images())) {
          lines.add(
              fail(
                  Check.IMAGES,
                  "the receipt lists images "
                      + c.images()
                      + " but the log prefix loaded "
                      + loaded));
        } else {
          lines.add(
              pass(
                  Check.IMAGES,
                  "image "
                      + c.imageId()
                      + " ran in this TD, co-resident with exactly "
                      + (loaded.size() - 1)
                      + " other image(s), all measured in RTMR3: "
                      + loaded));
        }
      }
    }

    lines.add(hashLine(Check.REQUEST_HASH, c.sealed() ? "sealed request" : "event", c.eventSha256(), request));
    if (c.sealed()) {
      lines.add(hashLine(Check.RESPONSE_HASH, "sealed response", c.responseSha256(), response));
      lines.add(
          notChecked(
              Check.PLAINTEXTS,
              "a sealed invocation"
                  + (c.error() == null ? "" : " whose function failed (" + c.error() + ")")
                  + ": the hashes are over the ciphertexts the host relayed; only the caller who"
                  + " sealed it can check the plaintext MACs (SealedMessages.ClientRequest)"));
    } else if (c.error() != null) {
      lines.add(
          response == null
              ? notChecked(Check.RESPONSE_HASH, "the function failed (" + c.error() + "); there is no response to hash")
              : fail(
                  Check.RESPONSE_HASH,
                  "the receipt says the function failed ("
                      + c.error()
                      + "), yet a response was given to check"));
    } else {
      lines.add(hashLine(Check.RESPONSE_HASH, "response", c.responseSha256(), response));
    }
    return new Result(lines, Optional.of(receipt));
  }

  /**
   * Checks a TD's evidence alone — quote, measurements, key binding, RTMR3 log — as a caller does
   * before it seals an event to the TD's sealing key: the key is the TD's only when these pass.
   * {@link Result#receipt()} is empty.
   */
  public Result verifyEvidence(TdEvidence evidence) {
    List<Line> lines = new ArrayList<>();
    evidenceChecks(evidence, lines);
    return new Result(lines, Optional.empty());
  }

  /**
   * The TD's checks (one appraisal): QUOTE, MEASUREMENTS, KEY_BINDING, RTMR3_LOG; returns the
   * evidence's RTMR3 log, null when malformed.
   */
  private RtmrLog evidenceChecks(TdEvidence evidence, List<Line> lines) {
    RtmrLog log;
    try {
      log = RtmrLog.of(evidence.rtmr3Log());
    } catch (IllegalArgumentException e) {
      log = null;
      lines.add(fail(Check.RTMR3_LOG, "the evidence's RTMR3 log is malformed: " + e.getMessage()));
    }
    ReferenceValues.Builder expected;
    String refSource;
    if (reference != null) {
      expected = reference.toBuilder();
      refSource = "the reference values you supplied";
    } else {
      try {
        expected = fromEvidence(evidence.referenceValues());
      } catch (IllegalArgumentException e) {
        lines.add(
            fail(Check.MEASUREMENTS, "the evidence's reference values are malformed: " + e.getMessage()));
        expected = ReferenceValues.builder();
      }
      refSource =
          evidence.referenceValues().isEmpty()
              ? null
              : "the reference values the evidence carries (the operator's claim; supply your own to"
                  + " rely on them)";
    }
    boolean keysPresent =
        evidence.identityPublicKey().length > 0 && evidence.sealingPublicKey().length > 0;
    if (keysPresent) {
      expected.reportData(
          ReportDataBinding.of(
              evidence.identityPublicKey(), evidence.sealingPublicKey(), evidence.nonce()));
    }
    if (log != null) {
      expected.rtmr3Log(log);
    }
    QuoteVerification qv = quotes.verify(evidence.quote(), collateral);
    Appraisal appraisal = expected.build().appraise(qv);

    if (!qv.verified()) {
      lines.add(
          fail(
              Check.QUOTE,
              "the quote did not verify: "
                  + qv.failedCheck().map(Enum::name).orElse("")
                  + ": "
                  + qv.message()));
    } else if (qv.simulated()) {
      lines.add(
          pass(
              Check.QUOTE,
              "simulated TDX: the quote chains to a dev root ("
                  + qv.rootSubject().orElse("?")
                  + ") and is trusted only because this verifier was told to trust that root"
                  + " (--trust-dev-root); it proves nothing about hardware"));
    } else {
      lines.add(
          pass(
              Check.QUOTE,
              "genuine TDX quote: chains to "
                  + qv.rootSubject().orElse("the pinned root")
                  + ", TCB "
                  + qv.tcbStatus().map(s -> s.pcsName()).orElse("?")
                  + (qv.advisoryIds().isEmpty() ? "" : ", advisories " + qv.advisoryIds())));
    }

    List<String> measurementFailures = new ArrayList<>();
    for (Appraisal.Failure f : appraisal.failures()) {
      switch (f.check()) {
        case QUOTE_VERIFICATION, REPORT_DATA, RTMR3 -> {}
        default -> measurementFailures.add(f.toString());
      }
    }
    List<Appraisal.Check> measured =
        appraisal.checked().stream()
            .filter(k -> k == Appraisal.Check.MRTD || k.name().matches("RTMR[012]"))
            .toList();
    if (!measurementFailures.isEmpty()) {
      lines.add(fail(Check.MEASUREMENTS, String.join("; ", measurementFailures)));
    } else if (measured.isEmpty()) {
      lines.add(
          notChecked(
              Check.MEASUREMENTS,
              "no reference values for MRTD and RTMR0..2 were given: the quote says nothing here"
                  + " about which firmware, kernel and agent the TD runs; supply reference values"));
    } else {
      lines.add(
          pass(
              Check.MEASUREMENTS,
              measured + " match " + refSource + "; not a debug TD; TCB status accepted"));
    }

    if (!keysPresent) {
      lines.add(
          fail(Check.KEY_BINDING, "the evidence lacks the identity or sealing public key"));
    } else if (appraisal.failed(Appraisal.Check.REPORT_DATA)) {
      lines.add(
          fail(
              Check.KEY_BINDING,
              "the quote's REPORTDATA does not bind this identity key, sealing key and nonce"
                  + " (ReportDataBinding): the keys in the evidence are not the TD's"));
    } else {
      lines.add(
          pass(
              Check.KEY_BINDING,
              "the quote's REPORTDATA binds the identity key (kid "
                  + thumbprintOrUnknown(evidence.identityPublicKey())
                  + "), the sealing key and the evidence's nonce"));
    }

    if (log != null) {
      if (appraisal.failed(Appraisal.Check.RTMR3)) {
        lines.add(
            fail(
                Check.RTMR3_LOG,
                appraisal.failures().stream()
                    .filter(f -> f.check() == Appraisal.Check.RTMR3)
                    .findFirst()
                    .map(Appraisal.Failure::message)
                    .orElse("")));
      } else {
        lines.add(
            pass(
                Check.RTMR3_LOG,
                "the evidence's " + log.size() + "-entry RTMR3 log replays to the quoted RTMR3"));
      }
    }
    return log;
  }

  private static Line hashLine(Check check, String what, String claimed, byte[] given) {
    if (given == null) {
      return notChecked(
          check, "no " + what + " bytes were given, so the receipt's " + what + " hash was not compared");
    }
    String actual = Receipt.sha256(given);
    if (!MessageDigest.isEqual(
        actual.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        claimed.getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
      return fail(
          check,
          "the " + what + " hashes to SHA-256 " + actual + " but the receipt says " + claimed
              + ": these are not the bytes the TD " + (check == Check.REQUEST_HASH ? "received" : "sent"));
    }
    return pass(check, "the " + what + " (" + given.length + " bytes) is what the TD " + (check == Check.REQUEST_HASH ? "received" : "sent"));
  }

  private static ReferenceValues.Builder fromEvidence(Map<String, List<String>> refs) {
    ReferenceValues.Builder b = ReferenceValues.builder();
    HexFormat hex = HexFormat.of();
    refs.forEach(
        (name, values) -> {
          for (String v : values) {
            byte[] m = hex.parseHex(v);
            switch (name) {
              case "mrtd" -> b.allowMrTd(m);
              case "rtmr0" -> b.allowRtmr(0, m);
              case "rtmr1" -> b.allowRtmr(1, m);
              case "rtmr2" -> b.allowRtmr(2, m);
              default -> throw new IllegalArgumentException("unknown reference value " + name);
            }
          }
        });
    return b;
  }

  private static String thumbprintOrUnknown(byte[] spki) {
    try {
      return Receipt.thumbprint(Receipt.ecPublicKey(spki));
    } catch (IllegalArgumentException e) {
      return "?";
    }
  }

  private static Line pass(Check c, String m) {
    return new Line(c, Outcome.PASS, m);
  }

  private static Line fail(Check c, String m) {
    return new Line(c, Outcome.FAIL, m);
  }

  private static Line notChecked(Check c, String m) {
    return new Line(c, Outcome.NOT_CHECKED, m);
  }
}
