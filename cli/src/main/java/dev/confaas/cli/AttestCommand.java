package dev.confaas.cli;

import picocli.CommandLine.Command;

/** {@code confaas attest}: Verify TDX quotes and replay RTMR logs. */
@Command(
    name = "attest",
    mixinStandardHelpOptions = true,
    description = "Verify TDX quotes and replay RTMR logs.",
    subcommands = {})
final class AttestCommand implements Runnable {
  @Override
  public void run() {
    throw new Main.CliException("not implemented yet");
  }
}
