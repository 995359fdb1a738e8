package dev.confaas.cli;

import picocli.CommandLine.Command;

/** {@code confaas keygen}: Generate a signing key pair and a self-signed certificate (DER). */
@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    description = "Generate a signing key pair and a self-signed certificate (DER).",
    subcommands = {})
final class KeygenCommand implements Runnable {
  @Override
  public void run() {
    throw new Main.CliException("not implemented yet");
  }
}
