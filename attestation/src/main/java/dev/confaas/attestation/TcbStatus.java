package dev.confaas.attestation;

/**
 * TCB status of a platform as Intel's collateral states it (PCS TCB Info v3 {@code tcbStatus}
 * values), ordered from best to worst so that a policy can name the worst status it still accepts.
 */
public enum TcbStatus {
  UP_TO_DATE("UpToDate"),
  SW_HARDENING_NEEDED("SWHardeningNeeded"),
  CONFIGURATION_NEEDED("ConfigurationNeeded"),
  CONFIGURATION_AND_SW_HARDENING_NEEDED("ConfigurationAndSWHardeningNeeded"),
  OUT_OF_DATE("OutOfDate"),
  OUT_OF_DATE_CONFIGURATION_NEEDED("OutOfDateConfigurationNeeded"),
  REVOKED("Revoked");

  private final String pcsName;

  TcbStatus(String pcsName) {
    this.pcsName = pcsName;
  }

  /** The name Intel PCS uses, e.g. {@code OutOfDate}. */
  public String pcsName() {
    return pcsName;
  }

  /** True if this status is at least as good as {@code worstAccepted}. */
  public boolean atLeast(TcbStatus worstAccepted) {
    return ordinal() <= worstAccepted.ordinal();
  }

  /** Parses a PCS status name (or this enum's constant name). */
  public static TcbStatus fromPcs(String name) {
    for (TcbStatus s : values()) {
      if (s.pcsName.equals(name) || s.name().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown TCB status '"
            + name
            + "'; expected one of UpToDate, SWHardeningNeeded,"
            + " ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,"
            + " OutOfDateConfigurationNeeded, Revoked");
  }

  @Override
  public String toString() {
    return pcsName;
  }
}
