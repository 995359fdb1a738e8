package dev.confaas.attestation;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The result of appraising a quote against {@link ReferenceValues}: accepted only if nothing
 * failed. Every failed check is listed (not just the first), so an operator sees the whole
 * difference between a TD and its reference values at once.
 */
public record Appraisal(List<Failure> failures, List<Check> checked) {

  /** What an appraisal compares. */
  public enum Check {
    QUOTE_VERIFICATION,
    TCB_STATUS,
    MRTD,
    RTMR0,
    RTMR1,
    RTMR2,
    RTMR3,
    MRCONFIGID,
    MROWNER,
    MROWNERCONFIG,
    DEBUG,
    REPORT_DATA
  }

  /** One failed check and what differed. */
  public record Failure(Check check, String message) {
    @Override
    public String toString() {
      return check + ": " + message;
    }
  }

  public Appraisal {
    failures = List.copyOf(failures);
    checked = List.copyOf(checked);
  }

  public boolean accepted() {
    return failures.isEmpty();
  }

  public boolean failed(Check check) {
    return failures.stream().anyMatch(f -> f.check() == check);
  }

  @Override
  public String toString() {
    return accepted()
        ? "accepted (" + checked + ")"
        : "rejected: " + failures.stream().map(Failure::toString).collect(Collectors.joining("; "));
  }
}
