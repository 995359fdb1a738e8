package dev.confaas.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The {@code reliability} profile's one test: runs every scenario of {@link ReliabilityRun} against
 * {@code confaas up} started from the built CLI, writes {@code reliability/results/<time>.json},
 * prints the Markdown table, and fails the build when any scenario failed, naming what broke.
 * Options come as system properties: {@code -Dreliability.args="--only 1,2 --load-seconds 20"}.
 */
class ReliabilityScenariosTest {

  @Test
  void everyLoadAndFaultScenarioPasses() throws Exception {
    String extra = System.getProperty("reliability.args", "").strip();
    ReliabilityRun.Options options =
        ReliabilityRun.Options.parse(extra.isEmpty() ? new String[0] : extra.split("\\s+"));
    List<ScenarioResult> results = ReliabilityRun.run(options);
    String failed = results.stream()
        .filter(r -> !r.passed())
        .map(r -> "scenario " + r.number + " (" + r.title + "): " + String.join("; ", r.failures))
        .collect(Collectors.joining("\n"));
    assertTrue(failed.isEmpty(), "failed scenarios (figures in " + options.out() + "):\n" + failed);
  }
}
