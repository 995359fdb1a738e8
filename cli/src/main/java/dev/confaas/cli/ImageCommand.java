package dev.confaas.cli;

import picocli.CommandLine.Command;

/** {@code confaas image}: Build, import, sign, inspect and verify ACON function images. */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    description = "Build, import, sign, inspect and verify ACON function images.",
    subcommands = {})
final class ImageCommand implements Runnable {
  @Override
  public void run() {
    throw new Main.CliException("not implemented yet");
  }
}
