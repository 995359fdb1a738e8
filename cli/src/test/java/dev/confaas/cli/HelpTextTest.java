package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The README promises that every command's {@code --help} has examples; and a help text is read in
 * an 80-column terminal, so it must not be cut or wrapped inside a word there. Walks the whole
 * picocli command tree, so a command added later is held to the same rules.
 */
class HelpTextTest {
  static final int WIDTH = 80;

  /** Every command below {@code confaas}, with its full name ({@code confaas trigger add}). */
  static List<CommandLine> allCommands() {
    List<CommandLine> all = new ArrayList<>();
    collect(Main.newCommandLine(), all);
    return all;
  }

  private static void collect(CommandLine cl, List<CommandLine> into) {
    into.add(cl);
    // A command may be registered under several names (aliases); visit each command once.
    for (CommandLine sub : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
      collect(sub, into);
    }
  }

  static String name(CommandLine cl) {
    return cl.getCommandSpec().qualifiedName();
  }

  static String help(CommandLine cl, int width) {
    cl.setUsageHelpAutoWidth(false);
    cl.setUsageHelpWidth(width);
    return cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  @Test
  void theTreeIsWalked() {
    Set<String> names = new HashSet<>();
    allCommands().forEach(c -> names.add(name(c)));
    for (String expected : List.of("confaas", "confaas trigger add", "confaas trigger list",
        "confaas functions get", "confaas image build", "confaas help", "confaas trigger help")) {
      assertTrue(names.contains(expected), expected + " not among " + names);
    }
  }

  @Test
  void everyCommandHasExamples() {
    List<String> missing = new ArrayList<>();
    for (CommandLine cl : allCommands()) {
      // As printed (a footer heading counts), then: 'Examples:' and a command line under it.
      List<String> lines = List.of(help(cl, 10_000).split("\n"));
      int at = lines.indexOf("Examples:");
      boolean example = false;
      for (int i = at + 1; at >= 0 && i < lines.size() && !lines.get(i).isBlank(); i++) {
        String line = lines.get(i).strip();
        example |= line.startsWith("confaas ") || line.startsWith("CONFAAS_");
      }
      if (!example) {
        missing.add(name(cl));
      }
    }
    assertEquals(List.of(), missing,
        "commands whose --help has no 'Examples:' section with a 'confaas ...' line");
  }

  /**
   * Each subcommand's first description line is what its parent's command list shows: it must be
   * a whole sentence, not the start of one.
   */
  @Test
  void theSummaryInTheCommandListIsAWholeSentence() {
    List<String> cut = new ArrayList<>();
    for (CommandLine cl : allCommands()) {
      String[] description = cl.getCommandSpec().usageMessage().description();
      String[] header = cl.getCommandSpec().usageMessage().header();
      String summary = header.length > 0 ? header[0] : description.length > 0 ? description[0] : "";
      if (!summary.strip().matches("(?s).*[.)]")) {
        cut.add(name(cl) + ": \"" + summary + "\"");
      }
    }
    assertEquals(List.of(), cut, "summaries that stop mid-sentence");
  }

  /**
   * Written lines (description, header, footer) fit in 80 columns as written, so picocli never
   * re-wraps them into ragged halves; and nothing picocli wraps itself (option descriptions, the
   * command list) is split inside a word: every word of the 80-column help is a word of the same
   * help printed without a width limit.
   */
  @Test
  void helpFitsEightyColumnsWithoutSplittingWords() {
    List<String> problems = new ArrayList<>();
    for (CommandLine cl : allCommands()) {
      CommandLine.Model.UsageMessageSpec u = cl.getCommandSpec().usageMessage();
      for (String[] written : List.of(u.description(), u.header(), u.footer())) {
        for (String line : written) {
          if (line.length() > WIDTH) {
            problems.add(name(cl) + ": written line of " + line.length() + " columns: " + line);
          }
        }
      }
      Set<String> words = new HashSet<>(Arrays.asList(help(cl, 10_000).split("\\s+")));
      String narrow = help(cl, WIDTH);
      for (String line : narrow.split("\n")) {
        if (line.length() > WIDTH) {
          problems.add(name(cl) + ": " + line.length() + " columns: " + line);
        }
        for (String w : line.strip().split("\\s+")) {
          if (!w.isEmpty() && !words.contains(w)) {
            problems.add(name(cl) + ": '" + w + "' is part of a word split across lines: " + line);
          }
        }
      }
    }
    assertEquals(List.of(), problems, "help text problems at " + WIDTH + " columns");
  }
}
