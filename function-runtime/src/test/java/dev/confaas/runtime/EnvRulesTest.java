package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The examples of ACON doc/Image.md, "Environment variables", as executable checks. */
class EnvRulesTest {
  // The env array of the example manifest in ACON doc/Image.md.
  private final EnvRules rules =
      EnvRules.parse(
          List.of(
              "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
              "HTTPS_PROXY",
              "TRAFFIC_LIGHT=",
              "TRAFFIC_LIGHT=Red",
              "TRAFFIC_LIGHT=Yellow",
              "TRAFFIC_LIGHT=Green"));

  @Test
  void defaultsComeFromTheFirstAssignment() {
    assertEquals(Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), rules.resolve(List.of()));
    EnvRules example6 = EnvRules.parse(List.of("ABC=xyz", "ABC=uvw", "ABC="));
    assertEquals(Map.of("ABC", "xyz"), example6.resolve(List.of()));
    assertEquals(Map.of(), example6.resolve(List.of("ABC=")), "ABC= unsets a default");
    EnvRules example5 = EnvRules.parse(List.of("HTTPS_PROXY", "HTTPS_PROXY=http://proxy:80/"));
    assertEquals(Map.of("HTTPS_PROXY", "http://proxy:80/"), example5.resolve(List.of()));
    assertEquals(
        Map.of("HTTPS_PROXY", "http://other/"), example5.resolve(List.of("HTTPS_PROXY=http://other/")));
  }

  @Test
  void callerSettingsAllowedByARuleAreApplied() {
    Map<String, String> env = rules.resolve(List.of("HTTPS_PROXY=http://p:3128", "TRAFFIC_LIGHT=Red"));
    assertEquals("http://p:3128", env.get("HTTPS_PROXY"));
    assertEquals("Red", env.get("TRAFFIC_LIGHT"));
    assertEquals("/usr/sbin:/usr/bin:/sbin:/bin", env.get("PATH"));
  }

  @Test
  void aValueNoRuleAllowsIsRefusedWithTheAllowedValues() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> rules.resolve(List.of("TRAFFIC_LIGHT=Blue")));
    assertTrue(e.getMessage().contains("env[0] \"TRAFFIC_LIGHT=Blue\""), e.getMessage());
    assertTrue(e.getMessage().contains("[Red, Yellow, Green] or unset"), e.getMessage());
  }

  @Test
  void unknownNamesMustNotBeUnsetWhenTheRuleRequiresAValue() {
    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> rules.resolve(List.of("LD_PRELOAD=/x.so")));
    assertTrue(unknown.getMessage().contains("do not mention LD_PRELOAD"), unknown.getMessage());
    IllegalArgumentException unset =
        assertThrows(
            IllegalArgumentException.class,
            () -> EnvRules.parse(List.of("ABC=xyz")).resolve(List.of("ABC=")));
    assertTrue(unset.getMessage().contains("unsets ABC"), unset.getMessage());
  }

  @Test
  void malformedCallerEntriesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> rules.resolve(List.of("HTTPS_PROXY")));
    assertThrows(IllegalArgumentException.class, () -> rules.resolve(List.of("=x")));
    assertThrows(
        IllegalArgumentException.class,
        () -> rules.resolve(List.of("HTTPS_PROXY=a", "HTTPS_PROXY=b")));
    IllegalArgumentException reserved =
        assertThrows(
            IllegalArgumentException.class,
            () -> EnvRules.parse(List.of("AWS_LAMBDA_RUNTIME_API")).resolve(List.of()));
    assertTrue(reserved.getMessage().contains("agent sets itself"), reserved.getMessage());
  }
}
