package dev.confaas.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code confaas}. Each command group lives in its own class; this one only wires them
 * together and fixes the conventions every command follows: exit 0 on success, 1 with a one-line reason
 * on failure, 2 on a usage error.
 */
@Command(
    name = "confaas",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "ConFaaS: confidential functions in Intel TDX trust domains.",
    footer = {
      "",
      "Examples:",
      "  confaas up                         # the platform, with a sample 'hello'",
      "  confaas deploy --name rev --runtime shell --handler rev.sh",
      "  confaas invoke rev --data stressed",
      "  confaas logs rev --follow",
      "  confaas help deploy                # or: confaas deploy --help"
    },
    subcommands = {
      KeygenCommand.class,
      ImageCommand.class,
      VendorCommand.class,
      AttestCommand.class,
      VerifyCommand.class,
      DemoCommand.class,
      DeployCommand.class,
      InvokeCommand.class,
      FunctionsCommand.class,
      LogsCommand.class,
      TriggerCommand.class,
      UpCommand.class,
      GuestCommand.class,
      RuntimesCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Whether standard output is a terminal; subcommands read it ({@code invoke}'s newline). */
  final boolean stdoutIsTerminal;

  Main() {
    this(false);
  }

  private Main(boolean stdoutIsTerminal) {
    this.stdoutIsTerminal = stdoutIsTerminal;
  }

  public static void main(String[] args) {
    System.exit(newCommandLine(new Main(Terminal.isStdout())).execute(args));
  }

  /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    return newCommandLine().execute(args);
  }

  /** Runs the CLI writing to {@code out} and {@code err} (flushed) and returns its exit code. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = newCommandLine();
    cl.setOut(out);
    cl.setErr(err);
    try {
      return cl.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  static CommandLine newCommandLine() {
    return newCommandLine(new Main());
  }

  private static CommandLine newCommandLine(Main main) {
    CommandLine cl = new CommandLine(main);
    cl.setExecutionExceptionHandler(new OneLineErrors());
    // Help as wide as the terminal (80 columns when it is not one), wrapped at spaces only.
    cl.setHelpFactory(WholeWordHelp.FACTORY);
    cl.setUsageHelpAutoWidth(true);
    addHelpExamples(cl, "confaas");
    return cl;
  }

  /** picocli's own {@code help} subcommands get examples too, as every command has. */
  private static void addHelpExamples(CommandLine cl, String path) {
    for (CommandLine sub : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
      if (sub.getCommand() instanceof CommandLine.HelpCommand) {
        String other = cl.getSubcommands().keySet().stream()
            .filter(n -> !n.equals(sub.getCommandName())).findFirst().orElse("");
        sub.getCommandSpec().usageMessage().footer(
            "",
            "Examples:",
            "  " + path + " " + sub.getCommandName() + " " + other,
            "  " + path + " " + other + " --help   # the same");
      } else {
        addHelpExamples(sub, path + " " + sub.getCommandName());
      }
    }
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command: see 'confaas --help'");
  }

  /** A failure a user caused: printed as one line, exit code 1, no stack trace. */
  public static final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CliException(String message) {
      super(message);
    }

    public CliException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  static final class OneLineErrors implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(
        Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
      String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
      cmd.getErr().println("confaas " + cmd.getCommandName() + ": " + msg.replace('\n', ' '));
      if (System.getenv("CONFAAS_DEBUG") != null) {
        ex.printStackTrace(cmd.getErr());
      }
      return 1;
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"confaas " + (v == null ? "dev" : v)};
    }
  }
}
