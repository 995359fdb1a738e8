package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** QVL's convergence of the platform status with the TDX module's and the QE's status. */
class TcbStatusTest {

  @ParameterizedTest
  @CsvSource({
    "UpToDate, UpToDate, UpToDate",
    "UpToDate, OutOfDate, OutOfDate",
    "SWHardeningNeeded, OutOfDate, OutOfDate",
    "ConfigurationNeeded, OutOfDate, OutOfDateConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded",
    "OutOfDate, OutOfDate, OutOfDate",
    "SWHardeningNeeded, Revoked, Revoked",
    "ConfigurationNeeded, UpToDate, ConfigurationNeeded",
    "Revoked, UpToDate, Revoked"
  })
  void platformStatusConvergesWithModuleAndQeStatus(
      String platform, String other, String expected) {
    TcbStatus p = TcbStatus.fromPcs(platform);
    TcbStatus o = TcbStatus.fromPcs(other);
    assertEquals(TcbStatus.fromPcs(expected), QuoteVerifier.converge(p, o), "with QE " + other);
    assertEquals(
        TcbStatus.fromPcs(expected), QuoteVerifier.convergeModule(p, o), "with module " + other);
  }

  @Test
  void orderSupportsWorstAcceptedPolicies() {
    assertTrue(TcbStatus.UP_TO_DATE.atLeast(TcbStatus.SW_HARDENING_NEEDED));
    assertFalse(TcbStatus.OUT_OF_DATE.atLeast(TcbStatus.CONFIGURATION_NEEDED));
    assertFalse(TcbStatus.REVOKED.atLeast(TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TcbStatus.fromPcs("Fine"));
    assertTrue(e.getMessage().contains("unknown TCB status 'Fine'"), e.getMessage());
  }
}
