package dev.confaas.image;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The environment variables the TD agent sets itself for the Lambda Runtime API, as Lambda
 * reserves them (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), and the one rule
 * about them a manifest's {@code env} must follow. One list for the three places that apply it: the
 * agent refuses to load an image that breaks the rule, the gateway refuses to deploy one, and OCI
 * import drops what an image's config sets (AWS base images set {@code LAMBDA_TASK_ROOT} and {@code
 * LAMBDA_RUNTIME_DIR}).
 *
 * <p>The rule: a manifest may not name a reserved variable in its {@code env}, except {@code
 * _HANDLER=VALUE}, once, which is how an image states its Lambda handler (the agent sets {@code
 * _HANDLER} to that value; callers cannot change it). {@code AWS_EXECUTION_ENV}, reserved in
 * Lambda, is not in the list: it names the language runtime, which only the image knows, so
 * images set it (Lambda leaves it unset for OS-only runtimes).
 */
public final class LambdaReservedEnv {
  /** The handler variable; an image may give it a value with the rule {@code _HANDLER=VALUE}. */
  public static final String HANDLER = "_HANDLER";

  /** Names only the agent sets. */
  public static final Set<String> NAMES =
      Set.of(
          "AWS_LAMBDA_RUNTIME_API",
          HANDLER,
          "LAMBDA_TASK_ROOT",
          "LAMBDA_RUNTIME_DIR",
          "AWS_LAMBDA_FUNCTION_NAME",
          "AWS_LAMBDA_FUNCTION_VERSION",
          "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
          "AWS_LAMBDA_LOG_GROUP_NAME",
          "AWS_LAMBDA_LOG_STREAM_NAME",
          "AWS_LAMBDA_INITIALIZATION_TYPE",
          "AWS_REGION",
          "AWS_DEFAULT_REGION",
          "TZ");

  private LambdaReservedEnv() {}

  /** True for a name only the agent sets ({@code _HANDLER} included). */
  public static boolean isReserved(String name) {
    return NAMES.contains(name);
  }

  /** True for the rule {@code _HANDLER=VALUE} (VALUE may be empty): the image's handler. */
  public static boolean isHandlerRule(String rule) {
    return rule.startsWith(HANDLER + "=");
  }

  /**
   * What is wrong with a manifest's {@code env} under the rule above, naming the entry and the
   * variable; empty when nothing is.
   */
  public static Optional<String> violation(List<String> manifestEnv) {
    int handlers = 0;
    for (int i = 0; i < manifestEnv.size(); i++) {
      String rule = manifestEnv.get(i);
      if (isHandlerRule(rule)) {
        if (++handlers > 1) {
          return Optional.of("env[" + i + "] \"" + rule + "\" sets " + HANDLER
              + " a second time; a function has one handler, keep one _HANDLER=VALUE rule");
        }
        continue;
      }
      int eq = rule.indexOf('=');
      String name = eq < 0 ? rule : rule.substring(0, eq);
      if (isReserved(name)) {
        return Optional.of("env[" + i + "] \"" + rule + "\" names " + name + ", which the agent"
            + " sets itself for the Lambda Runtime API; remove it from the manifest's env"
            + (name.equals(HANDLER) ? " or give the handler as _HANDLER=VALUE" : ""));
      }
    }
    return Optional.empty();
  }
}
