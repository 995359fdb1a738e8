package dev.confaas.cli;

import picocli.CommandLine.Command;

/** {@code confaas demo}: builds, signs and verifies a sample image end to end in a scratch directory. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Build, sign and verify a sample function image in a scratch directory.")
final class DemoCommand implements Runnable {
  @Override
  public void run() {
    throw new Main.CliException("not implemented yet");
  }
}
