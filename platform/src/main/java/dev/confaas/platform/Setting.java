package dev.confaas.platform;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One key of {@code confaas.yaml}: where it sits ({@code section.name}), what it holds, which
 * values are allowed and its default. Parsing is the same for every source (file,
 * environment, flag), so a value is read alike wherever an operator put it. What each key means is
 * written once, in {@code confaas.reference.yaml}.
 *
 * @param key {@code section.name}, e.g. {@code pool.size}
 * @param kind what the value is
 * @param defaultValue the built-in default, of {@link Kind#type}
 * @param min the smallest value allowed (whole numbers; bytes; durations in milliseconds)
 * @param max the largest value allowed, in the same unit
 * @param choices for text that must be one of a few words: those words; else empty
 */
record Setting(
    String key, Kind kind, Object defaultValue, long min, long max, List<String> choices) {

  /** The kinds of value a setting can hold. */
  enum Kind {
    INT(Integer.class, "a whole number"),
    BYTES(Long.class, "a size in bytes such as 1048576, 512KiB, 6MiB or 1GiB"),
    DURATION(Duration.class, "a duration such as 250ms, 30s, 10m, 1h or 1d"),
    STRING(String.class, "text"),
    BOOLEAN(Boolean.class, "true or false");

    final Class<?> type;
    final String expected;

    Kind(Class<?> type, String expected) {
      this.type = type;
      this.expected = expected;
    }
  }

  private static final Pattern KEY = Pattern.compile("[a-z]+\\.[a-z][A-Za-z]*");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");
  private static final Pattern DURATION_TEXT = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  Setting {
    if (!KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("setting keys are section.camelCaseName, was " + key);
    }
    Objects.requireNonNull(kind, "kind");
    if (!kind.type.isInstance(defaultValue)) {
      throw new IllegalArgumentException(key + ": default must be a " + kind.type.getSimpleName());
    }
    choices = List.copyOf(choices);
    if (!choices.isEmpty() && !choices.contains(defaultValue)) {
      throw new IllegalArgumentException(key + ": default must be one of " + choices);
    }
  }

  static Setting ofInt(String key, int def, int min, int max) {
    return new Setting(key, Kind.INT, def, min, max, List.of());
  }

  static Setting ofBytes(String key, long def, long min, long max) {
    return new Setting(key, Kind.BYTES, def, min, max, List.of());
  }

  /** A duration of at least {@code min}, with no upper bound. */
  static Setting ofDuration(String key, Duration def, Duration min) {
    return new Setting(key, Kind.DURATION, def, min.toMillis(), Long.MAX_VALUE, List.of());
  }

  static Setting ofString(String key, String def) {
    return new Setting(key, Kind.STRING, def, 0, 0, List.of());
  }

  /** Text that must be one of {@code choices}, the first being the default. */
  static Setting ofChoice(String key, String... choices) {
    return new Setting(key, Kind.STRING, choices[0], 0, 0, List.of(choices));
  }

  static Setting ofBoolean(String key, boolean def) {
    return new Setting(key, Kind.BOOLEAN, def, 0, 0, List.of());
  }

  String section() {
    return key.substring(0, key.indexOf('.'));
  }

  String name() {
    return key.substring(key.indexOf('.') + 1);
  }

  /** {@code CONFAAS_<SECTION>_<KEY>}, the key in upper snake case: {@code CONFAAS_POOL_MAX_AGE}. */
  String envVar() {
    return "CONFAAS_" + section().toUpperCase(Locale.ROOT) + "_"
        + name().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
  }

  /**
   * The value {@code text} stands for, checked against the allowed range.
   *
   * @throws IllegalArgumentException with a message that follows "{@code key: }", e.g. {@code must
   *     be between 1 and 64, was 100}
   */
  Object parse(String text) {
    String t = text.strip();
    switch (kind) {
      case STRING:
        if (!choices.isEmpty() && !choices.contains(t)) {
          throw new IllegalArgumentException(
              "must be one of " + String.join(", ", choices) + ", was \"" + text + "\"");
        }
        return t;
      case BOOLEAN:
        if (t.equalsIgnoreCase("true") || t.equalsIgnoreCase("false")) {
          return Boolean.parseBoolean(t);
        }
        throw expected(text);
      case INT: {
        long v;
        try {
          v = Long.parseLong(t);
        } catch (NumberFormatException e) {
          throw expected(text);
        }
        checkRange(v, Long.toString(v));
        return (int) v;
      }
      case BYTES: {
        Matcher m = SIZE.matcher(t);
        if (!m.matches()) {
          throw expected(text);
        }
        long v = multiply(m.group(1), m.group(2) == null ? "B" : m.group(2), text);
        checkRange(v, formatBytes(v));
        return v;
      }
      case DURATION: {
        Duration d = parseDuration(t, text);
        checkRange(d.toMillis(), formatDuration(d));
        return d;
      }
      default:
        throw new AssertionError(kind);
    }
  }

  /** How {@code value} is written in {@code confaas.yaml}: {@code 6MiB}, {@code 10m}, {@code 2}. */
  String format(Object value) {
    switch (kind) {
      case BYTES:
        return formatBytes((Long) value);
      case DURATION:
        return formatDuration((Duration) value);
      default:
        return String.valueOf(value);
    }
  }

  private void checkRange(long v, String shown) {
    if (v < min || v > max) {
      throw new IllegalArgumentException(
          max == Long.MAX_VALUE
              ? "must be at least " + bound(min) + ", was " + shown
              : "must be between " + bound(min) + " and " + bound(max) + ", was " + shown);
    }
  }

  private String bound(long v) {
    switch (kind) {
      case BYTES:
        return formatBytes(v);
      case DURATION:
        return formatDuration(Duration.ofMillis(v));
      default:
        return Long.toString(v);
    }
  }

  private IllegalArgumentException expected(String was) {
    return new IllegalArgumentException("expected " + kind.expected + ", was \"" + was + "\"");
  }

  private long multiply(String digits, String unit, String text) {
    long shift = switch (unit) {
      case "KiB" -> 10;
      case "MiB" -> 20;
      case "GiB" -> 30;
      default -> 0;
    };
    try {
      long n = Long.parseLong(digits);
      if (n > (Long.MAX_VALUE >> shift)) {
        throw expected(text);
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw expected(text);
    }
  }

  private Duration parseDuration(String t, String text) {
    Matcher m = DURATION_TEXT.matcher(t);
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
      }
      if (t.regionMatches(true, 0, "P", 0, 1)) {
        return Duration.parse(t); // ISO-8601 (PT30S), for those who write it so
      }
    } catch (NumberFormatException | ArithmeticException | DateTimeParseException e) {
      // fall through to the message that shows the accepted forms
    }
    throw expected(text);
  }

  static String formatBytes(long v) {
    for (String[] u : new String[][] {{"GiB", "30"}, {"MiB", "20"}, {"KiB", "10"}}) {
      long unit = 1L << Integer.parseInt(u[1]);
      if (v != 0 && v % unit == 0) {
        return (v / unit) + u[0];
      }
    }
    return Long.toString(v);
  }

  static String formatDuration(Duration d) {
    long ms = d.toMillis();
    if (ms == 0) {
      return "0s";
    }
    long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L};
    String[] names = {"d", "h", "m", "s"};
    for (int i = 0; i < units.length; i++) {
      if (ms % units[i] == 0) {
        return (ms / units[i]) + names[i];
      }
    }
    return ms + "ms";
  }
}
