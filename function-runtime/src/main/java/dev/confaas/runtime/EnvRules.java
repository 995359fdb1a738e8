package dev.confaas.runtime;

import dev.confaas.image.LambdaReservedEnv;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A manifest's {@code env} rules and the check of a caller's environment against them.
 *
 * <p>Semantics follow the ACON image spec (doc/Image.md, "Environment variables"): each rule is
 * {@code NAME} (may be unset or set to anything), {@code NAME=VALUE} (may be set to VALUE) or {@code
 * NAME=} (may be unset); rules are OR-ed; the first rule with an {@code =} gives the default. A caller
 * passes {@code NAME=VALUE}, or {@code NAME=} to unset a default. The caller is untrusted, so a
 * setting no rule allows is refused rather than dropped. Names the agent sets itself ({@link
 * LambdaReservedEnv}) are refused in rules and settings alike.
 */
final class EnvRules {
  private static final int MAX_ENTRIES = 256;
  private static final int MAX_ENTRY_CHARS = 32 * 1024;

  private final List<String> rules;
  private final Set<String> anyValue = new LinkedHashSet<>();
  private final Map<String, Set<String>> allowedValues = new LinkedHashMap<>();
  private final Set<String> mayBeUnset = new LinkedHashSet<>();
  private final Map<String, String> defaults = new LinkedHashMap<>();

  private EnvRules(List<String> rules) {
    this.rules = List.copyOf(rules);
    for (int i = 0; i < rules.size(); i++) {
      String rule = Objects.requireNonNull(rules.get(i), "env rule");
      int eq = rule.indexOf('=');
      String name = eq < 0 ? rule : rule.substring(0, eq);
      checkName(name, "manifest env[" + i + "] \"" + rule + "\"");
      if (eq < 0) {
        anyValue.add(name);
        mayBeUnset.add(name);
        continue;
      }
      String value = rule.substring(eq + 1);
      if (value.isEmpty()) {
        mayBeUnset.add(name);
      } else {
        allowedValues.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(value);
      }
      // The first assignment wins; an empty first assignment means "unset by default".
      defaults.putIfAbsent(name, value);
    }
  }

  /**
   * Parses the manifest's {@code env} array.
   *
   * @throws IllegalArgumentException naming the rule when one has an empty or malformed name
   */
  public static EnvRules parse(List<String> manifestEnv) {
    return new EnvRules(manifestEnv);
  }

  /** No rules: the caller may set nothing. */
  public static EnvRules none() {
    return new EnvRules(List.of());
  }

  /** The rules as given, in manifest order. */
  public List<String> rules() {
    return rules;
  }

  /**
   * Returns the environment an instance gets: the defaults, with the caller's settings applied.
   *
   * @param callerEnv entries {@code NAME=VALUE}, or {@code NAME=} to unset a default
   * @throws IllegalArgumentException saying which entry no rule allows and what would be allowed
   */
  public Map<String, String> resolve(List<String> callerEnv) {
    if (callerEnv.size() > MAX_ENTRIES) {
      throw new IllegalArgumentException(
          "env has " + callerEnv.size() + " entries; at most " + MAX_ENTRIES + " are allowed");
    }
    Map<String, String> env = new LinkedHashMap<>();
    defaults.forEach(
        (name, value) -> {
          if (!value.isEmpty()) {
            env.put(name, value);
          }
        });
    Set<String> seen = new LinkedHashSet<>();
    for (int i = 0; i < callerEnv.size(); i++) {
      String entry = callerEnv.get(i);
      String where = "env[" + i + "] \"" + abbreviate(entry) + "\"";
      if (entry.length() > MAX_ENTRY_CHARS) {
        throw new IllegalArgumentException(where + " is longer than " + MAX_ENTRY_CHARS + " characters");
      }
      int eq = entry.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException(where + " has no '='; pass NAME=VALUE, or NAME= to unset");
      }
      String name = entry.substring(0, eq);
      String value = entry.substring(eq + 1);
      checkName(name, where);
      if (value.indexOf('\0') >= 0) {
        throw new IllegalArgumentException(where + " has a NUL character in its value");
      }
      if (!seen.add(name)) {
        throw new IllegalArgumentException(where + " sets " + name + " a second time; set it once");
      }
      if (value.isEmpty()) {
        if (!mayBeUnset.contains(name)) {
          throw new IllegalArgumentException(where + " unsets " + name + ", but " + describe(name));
        }
        env.remove(name);
      } else {
        if (!anyValue.contains(name)
            && !allowedValues.getOrDefault(name, Set.of()).contains(value)) {
          throw new IllegalArgumentException(where + " is not allowed: " + describe(name));
        }
        env.put(name, value);
      }
    }
    return Collections.unmodifiableMap(env);
  }

  private String describe(String name) {
    if (anyValue.contains(name)) {
      return "the manifest's env rules let " + name + " take any value";
    }
    List<String> allowed = new ArrayList<>(allowedValues.getOrDefault(name, Set.of()));
    if (allowed.isEmpty() && !mayBeUnset.contains(name)) {
      return "the manifest's env rules do not mention "
          + name
          + " (settable names: "
          + String.join(", ", settableNames())
          + ")";
    }
    return "the manifest's env rules allow "
        + name
        + " to be "
        + (allowed.isEmpty() ? "" : "one of " + allowed)
        + (mayBeUnset.contains(name) ? (allowed.isEmpty() ? "unset only" : " or unset") : "");
  }

  private Set<String> settableNames() {
    Set<String> names = new LinkedHashSet<>(anyValue);
    names.addAll(allowedValues.keySet());
    names.addAll(mayBeUnset);
    return names;
  }

  private static void checkName(String name, String where) {
    if (name.isEmpty()) {
      throw new IllegalArgumentException(where + " has an empty variable name");
    }
    if (name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(where + " contains a NUL character");
    }
    if (LambdaReservedEnv.isReserved(name)) {
      throw new IllegalArgumentException(
          where + " sets " + name + ", which the agent sets itself for the Lambda Runtime API");
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }

  @Override
  public String toString() {
    return "EnvRules" + rules;
  }
}
