package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The connection budget leaves descriptors for the broker and the pool, whatever the limit. */
class ConnectionLimitsTest {

  @Test
  void aQuarterOfTheDescriptorLimitStaysReserved() {
    // The limit the platform died at: 19,900 idle connections of 20,000 descriptors.
    assertEquals(15_000, ConnectionLimits.derivedMaxConnections(20_000));
    assertEquals(6_144, ConnectionLimits.derivedMaxConnections(8_192));
  }

  @Test
  void smallLimitsKeepAtLeastHalfAndLargeOnesAreCapped() {
    assertEquals(2_048, ConnectionLimits.derivedMaxConnections(4_096), "2048 reserved");
    assertEquals(512, ConnectionLimits.derivedMaxConnections(1_024), "half of a tiny limit");
    assertEquals(32, ConnectionLimits.derivedMaxConnections(40), "never below the floor");
    assertEquals(16_384, ConnectionLimits.derivedMaxConnections(1_048_576));
  }

  @Test
  void zeroMeansDerivedFromThisProcesssLimit() {
    ConnectionLimits l = ConnectionLimits.of(0, 7, Duration.ofSeconds(1));
    assertEquals(ConnectionLimits.derivedMaxConnections(ConnectionLimits.descriptorLimit()),
        l.maxConnections());
    assertTrue(l.maxConnections() < ConnectionLimits.descriptorLimit());
    assertThrows(IllegalArgumentException.class, () -> ConnectionLimits.of(5, 0, Duration.ZERO));
  }
}
