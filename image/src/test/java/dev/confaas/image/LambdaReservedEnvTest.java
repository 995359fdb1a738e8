package dev.confaas.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LambdaReservedEnvTest {
  @Test
  void aHandlerRuleOnceAndOrdinaryNamesPass() {
    assertEquals(Optional.empty(), LambdaReservedEnv.violation(
        List.of("PATH=/bin", "_HANDLER=app.handler", "AWS_EXECUTION_ENV=AWS_Lambda_java17")));
  }

  @Test
  void everyReservedNameIsRefusedInAnyRuleForm() {
    for (String name : LambdaReservedEnv.NAMES) {
      for (String rule : List.of(name, name + "=x", name + "=")) {
        if (LambdaReservedEnv.isHandlerRule(rule)) {
          continue;
        }
        String why = LambdaReservedEnv.violation(List.of("A=1", rule))
            .orElseThrow(() -> new AssertionError(rule + " passed"));
        assertTrue(why.startsWith("env[1] \"" + rule + "\" names " + name + ", which the agent"),
            why);
      }
    }
  }

  @Test
  void aSecondHandlerIsRefused() {
    String why = LambdaReservedEnv.violation(List.of("_HANDLER=a", "_HANDLER=b")).orElseThrow();
    assertTrue(why.contains("env[1] \"_HANDLER=b\" sets _HANDLER a second time"), why);
  }
}
