package dev.confaas.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** AddBlob's deadline grows with the layer, so a busy agent is not cut off mid-layer (issue 11). */
class AgentLoaderTest {
  @Test
  void aLayersDeadlineIsTheLoadTimeoutPlusItsSizeAtTheSlowestExpectedRate() {
    Duration load = Duration.ofSeconds(60);
    assertEquals(load, AgentLoader.blobDeadline(load, 0));
    assertEquals(Duration.ofSeconds(60 + 256), AgentLoader.blobDeadline(load, 256L << 20),
        "256 MiB at 1 MiB/s");
  }
}
