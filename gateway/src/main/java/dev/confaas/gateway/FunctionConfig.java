package dev.confaas.gateway;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a deploy says about running the function (the {@code config} part of the deploy bundle).
 *
 * @param name function name, {@code [A-Za-z0-9][A-Za-z0-9_-]{0,63}}
 * @param concurrency at most this many invocations in flight platform-wide (default 10)
 * @param timeout the function's own timeout per invocation (default 30 s)
 * @param memoryMb memory shown to the function (default 256)
 * @param invokeAuth who may invoke it; {@code null} keeps what the function has ({@link
 *     InvokeAuth#NONE} for a new one), so a redeploy that does not mention it cannot drop a token
 *     requirement by accident
 */
public record FunctionConfig(
    String name, int concurrency, Duration timeout, int memoryMb, InvokeAuth invokeAuth) {

  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  /** Invocations in flight platform-wide when a deploy does not say. */
  public static final int DEFAULT_CONCURRENCY = 10;
  static final long DEFAULT_TIMEOUT_MS = 30_000;
  static final int DEFAULT_MEMORY_MB = 256;
  static final long MAX_TIMEOUT_MS = 15 * 60_000;

  /** Who may invoke a function. */
  public enum InvokeAuth {
    /** Anyone who can reach the gateway. */
    NONE,
    /** Callers presenting the function's invoke token (or the admin token) as a bearer token. */
    TOKEN;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static InvokeAuth parse(String s) throws DeployException {
      return switch (s) {
        case "none" -> NONE;
        case "token" -> TOKEN;
        default -> throw new DeployException(Problem.Reason.INVALID_CONFIG,
            "config.invokeAuth is \"" + s + "\"; use \"none\" or \"token\"");
      };
    }
  }

  public FunctionConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(timeout, "timeout");
  }

  /** Checks a function name from a URL or a config, naming the rule it breaks. */
  static void checkName(String name) throws DeployException {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new DeployException(Problem.Reason.INVALID_NAME, "function name \"" + name
          + "\" must match [A-Za-z0-9][A-Za-z0-9_-]* (at most 64 characters)");
    }
  }

  /** Parses and checks the {@code config} JSON of a deploy, filling defaults. */
  static FunctionConfig parse(String json) throws DeployException {
    JsonObject o;
    try {
      o = new JsonObject(json);
    } catch (RuntimeException e) {
      throw new DeployException(Problem.Reason.INVALID_CONFIG,
          "the config part is not a JSON object ("
          + e.getMessage() + "); send {\"name\":...,\"concurrency\":...,\"timeoutMs\":...}");
    }
    for (String key : o.fieldNames()) {
      if (!java.util.Set.of("name", "concurrency", "timeoutMs", "memoryMb", "invokeAuth")
          .contains(key)) {
        throw new DeployException(Problem.Reason.INVALID_CONFIG, "config has unknown field \"" + key
            + "\"; known: name, concurrency, timeoutMs, memoryMb, invokeAuth");
      }
    }
    Object name = o.getValue("name");
    if (!(name instanceof String)) {
      throw new DeployException(Problem.Reason.INVALID_CONFIG,
          "config.name is missing or not a string");
    }
    checkName((String) name);
    long concurrency = number(o, "concurrency", DEFAULT_CONCURRENCY, 1, 10_000);
    long timeoutMs = number(o, "timeoutMs", DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS);
    long memoryMb = number(o, "memoryMb", DEFAULT_MEMORY_MB, 16, 65_536);
    Object auth = o.getValue("invokeAuth");
    if (auth != null && !(auth instanceof String)) {
      throw new DeployException(Problem.Reason.INVALID_CONFIG,
          "config.invokeAuth must be \"none\" or \"token\"");
    }
    return new FunctionConfig((String) name, (int) concurrency, Duration.ofMillis(timeoutMs),
        (int) memoryMb, auth == null ? null : InvokeAuth.parse((String) auth));
  }

  private static long number(JsonObject o, String key, long dflt, long min, long max)
      throws DeployException {
    Object v = o.getValue(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Integer || v instanceof Long)) {
      throw new DeployException(Problem.Reason.INVALID_CONFIG,
          "config." + key + " must be a whole number");
    }
    long n = ((Number) v).longValue();
    if (n < min || n > max) {
      throw new DeployException(Problem.Reason.INVALID_CONFIG,
          "config." + key + " is " + n + "; it must be between " + min + " and " + max);
    }
    return n;
  }

  JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("concurrency", concurrency)
        .put("timeoutMs", timeout.toMillis())
        .put("memoryMb", memoryMb)
        .put("invokeAuth", invokeAuth == null ? null : invokeAuth.wireName());
  }
}
