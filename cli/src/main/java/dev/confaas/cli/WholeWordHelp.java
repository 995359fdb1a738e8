package dev.confaas.cli;

import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * picocli's help, with the synopsis and the option, parameter and command descriptions wrapped at
 * spaces only. picocli wraps them with {@link java.text.BreakIterator#getLineInstance()}, which also breaks after a dot
 * or a colon inside a word, so {@code pool.size}, {@code DATA/gateway.url} or {@code
 * pkg.Class::method} came out split across two lines whenever they fell at the edge. A word longer
 * than its column is still left to picocli.
 */
final class WholeWordHelp extends Help {

  static final CommandLine.IHelpFactory FACTORY = WholeWordHelp::new;

  private WholeWordHelp(CommandSpec spec, ColorScheme scheme) {
    super(spec, scheme);
  }

  @Override
  public Layout createDefaultLayout() {
    return wholeWords(super.createDefaultLayout());
  }

  @Override
  public Layout createDefaultLayout(java.util.List<CommandLine.Model.OptionSpec> options,
      java.util.List<CommandLine.Model.PositionalParamSpec> positionals, ColorScheme scheme) {
    return wholeWords(super.createDefaultLayout(options, positionals, scheme));
  }

  private static Layout wholeWords(Layout picocli) {
    TextTable table = new WholeWordTable(picocli.colorScheme(), picocli.textTable().columns());
    table.indentWrappedLines = picocli.textTable().indentWrappedLines;
    return new Layout(
        picocli.colorScheme(), table, picocli.optionRenderer(), picocli.parameterRenderer());
  }

  /** As picocli lays out the list of subcommands (name, then the summary), in a whole-word table. */
  @Override
  public String commandList(Map<String, Help> subcommands) {
    if (subcommands.isEmpty()) {
      return "";
    }
    int width = commandSpec().usageMessage().width();
    int names = 0;
    for (String name : subcommands.keySet()) {
      names = Math.max(names, name.length());
    }
    names = Math.min(names, width / 2);
    TextTable table = new WholeWordTable(colorScheme(),
        new Column(names + 2, 2, Column.Overflow.SPAN),
        new Column(width - (names + 2), 2, Column.Overflow.WRAP));
    for (Help sub : subcommands.values()) {
      UsageMessageSpec u = sub.commandSpec().usageMessage();
      String summary = u.header().length > 0 ? u.header()[0]
          : u.description().length > 0 ? u.description()[0] : "";
      Text[] lines = colorScheme().text(summary).splitLines();
      for (int i = 0; i < lines.length; i++) {
        table.addRowValues(i == 0 ? sub.commandNamesText(", ") : colorScheme().text(""), lines[i]);
      }
    }
    return table.toString();
  }

  /** As picocli lays out the synopsis (continuation lines under the first option), whole words. */
  @Override
  protected String insertSynopsisCommandName(int headingLength, Text details) {
    UsageMessageSpec u = commandSpec().usageMessage();
    int width = u.width();
    String name = commandSpec().qualifiedName();
    int indent = headingLength + name.length() + 1;
    if (indent > u.synopsisAutoIndentThreshold() * width) {
      indent = Math.min(u.synopsisIndent() < 0 ? headingLength : u.synopsisIndent(),
          (int) (0.9 * width));
    }
    TextTable table =
        new WholeWordTable(colorScheme(), new Column(width, 0, Column.Overflow.WRAP));
    table.indentWrappedLines = indent;
    // A placeholder as wide as the heading, which the caller prints itself.
    table.addRowValues(colorScheme().text("X".repeat(headingLength))
        .concat(colorScheme().commandText(name)).concat(details));
    return table.toString().substring(headingLength);
  }

  /** A text table that breaks a too-long value at its last space that fits, never inside a word. */
  private static final class WholeWordTable extends TextTable {
    private final ColorScheme scheme;

    WholeWordTable(ColorScheme scheme, Column... columns) {
      super(scheme, columns);
      this.scheme = scheme;
    }

    @Override
    public Cell putValue(int row, int col, Text value) {
      Column column = columns()[col];
      int room = column.width - column.indent;
      if (column.overflow != Column.Overflow.WRAP || value.plainString().length() <= room) {
        return super.putValue(row, col, value);
      }
      String plain = value.plainString();
      int lead = plain.length() - plain.stripLeading().length();
      String continuation = " ".repeat(lead + indentWrappedLines);
      Text rest = value;
      int at = row;
      int firstWord = lead;
      while (rest.plainString().length() > room) {
        int cut = rest.plainString().lastIndexOf(' ', room);
        if (cut <= firstWord) {
          break; // one word wider than the column: picocli's own wrapping has to cut it
        }
        super.putValue(at, col, rest.substring(0, cut));
        addEmptyRow();
        at = rowCount() - 1;
        rest = scheme.text(continuation).concat(rest.substring(cut + 1));
        firstWord = continuation.length();
      }
      return super.putValue(at, col, rest);
    }
  }
}
