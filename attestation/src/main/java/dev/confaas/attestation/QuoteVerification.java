package dev.confaas.attestation;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of {@link QuoteVerifier#verify}: either verified, with the platform's TCB status, the
 * Intel security advisories that apply and the TD's measurements, or failed, naming the check that
 * failed and why. The measurements of a failed verification are what the quote claims, not facts.
 */
public final class QuoteVerification {
  private final QuoteCheck failedCheck;
  private final String message;
  private final TdxQuote quote;
  private final TcbStatus tcbStatus;
  private final List<String> advisoryIds;
  private final String fmspc;
  private final String rootSubject;
  private final Instant verifiedAt;

  private QuoteVerification(
      QuoteCheck failedCheck,
      String message,
      TdxQuote quote,
      TcbStatus tcbStatus,
      List<String> advisoryIds,
      String fmspc,
      String rootSubject,
      Instant verifiedAt) {
    this.failedCheck = failedCheck;
    this.message = message;
    this.quote = quote;
    this.tcbStatus = tcbStatus;
    this.advisoryIds = List.copyOf(advisoryIds);
    this.fmspc = fmspc;
    this.rootSubject = rootSubject;
    this.verifiedAt = verifiedAt;
  }

  static QuoteVerification verified(
      TdxQuote quote,
      TcbStatus status,
      List<String> advisories,
      String fmspc,
      String rootSubject,
      Instant at) {
    return new QuoteVerification(
        null,
        "verified: TCB " + status.pcsName(),
        quote,
        status,
        advisories,
        fmspc,
        rootSubject,
        at);
  }

  static QuoteVerification failed(
      QuoteCheck check, String message, TdxQuote quote, TcbStatus status, Instant at) {
    return new QuoteVerification(check, message, quote, status, List.of(), null, null, at);
  }

  /**
   * True if every check passed: the quote comes from a genuine TDX platform under the root trusted.
   */
  public boolean verified() {
    return failedCheck == null;
  }

  /** The check that failed, empty when verified. */
  public Optional<QuoteCheck> failedCheck() {
    return Optional.ofNullable(failedCheck);
  }

  /** What failed and what to do, or a one-line summary when verified. */
  public String message() {
    return message;
  }

  /** The quote (empty only when it could not be parsed). */
  public Optional<TdxQuote> quote() {
    return Optional.ofNullable(quote);
  }

  /** The TD measurements from the quote; trustworthy only when {@link #verified()}. */
  public Optional<TdReport> measurements() {
    return quote().map(TdxQuote::report);
  }

  /** The converged TCB status (platform, TDX module, QE), when it was determined. */
  public Optional<TcbStatus> tcbStatus() {
    return Optional.ofNullable(tcbStatus);
  }

  /** Intel security advisory IDs (INTEL-SA-xxxxx) that apply to the matched TCB levels. */
  public List<String> advisoryIds() {
    return advisoryIds;
  }

  /** The platform's FMSPC (hex) from the PCK certificate, when verified. */
  public Optional<String> fmspc() {
    return Optional.ofNullable(fmspc);
  }

  /** Subject of the root the quote chained to, when verified. */
  public Optional<String> rootSubject() {
    return Optional.ofNullable(rootSubject);
  }

  /**
   * True if the quote verified under a simulator's dev root ({@link SimulatedPki}): it then proves
   * only that the code path works, nothing about hardware.
   */
  public boolean simulated() {
    return rootSubject != null && rootSubject.contains(QuoteVerifier.SIMULATED_ROOT_MARKER);
  }

  /** The instant (from the verifier's clock) all validity windows were checked against. */
  public Instant verifiedAt() {
    return verifiedAt;
  }

  @Override
  public String toString() {
    return verified() ? message : "FAILED " + failedCheck + ": " + message;
  }
}
