package dev.confaas.reliability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one scenario found: its figures (in the order measured), the checks that failed (none =
 * passed), notes that explain a figure, and a one-line summary for the Markdown table.
 */
final class ScenarioResult {
  final int number;
  final String title;
  final String passCriterion;
  final Map<String, Object> figures = new LinkedHashMap<>();
  final List<String> failures = new ArrayList<>();
  final List<String> notes = new ArrayList<>();
  String summary = "";
  Duration took = Duration.ZERO;

  ScenarioResult(int number, String title, String passCriterion) {
    this.number = number;
    this.title = title;
    this.passCriterion = passCriterion;
  }

  /** Records a figure; a later one with the same name replaces it. */
  ScenarioResult figure(String name, Object value) {
    figures.put(name, value);
    return this;
  }

  /** Records {@code failure} unless {@code ok}; returns {@code ok}. */
  boolean check(boolean ok, String failure) {
    if (!ok) {
      failures.add(failure);
    }
    return ok;
  }

  void note(String note) {
    notes.add(note);
  }

  boolean passed() {
    return failures.isEmpty();
  }
}
