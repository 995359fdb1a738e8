package dev.confaas.cli;

import picocli.CommandLine.Command;

/** {@code confaas vendor}: Publish and update vendor framework layers. */
@Command(
    name = "vendor",
    mixinStandardHelpOptions = true,
    description = "Publish and update vendor framework layers.",
    subcommands = {})
final class VendorCommand implements Runnable {
  @Override
  public void run() {
    throw new Main.CliException("not implemented yet");
  }
}
