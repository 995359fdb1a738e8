/**
 * The reliability harness: issue 11's load-and-fault scenarios against {@code confaas up} run as an
 * operator runs it, a separate process from the built CLI ({@code cli/target/confaas-cli.jar} with
 * {@code cli/target/lib/*}) on a fresh data directory with free ports.
 *
 * <p>{@link dev.confaas.reliability.ReliabilityRun} starts the platform ({@code UpProcess}), runs
 * each scenario (one class each: {@code IdleConnections}, {@code SecondUp}, {@code LargeAsync},
 * {@code TriggerDeadLetter}, {@code KillDuringAsync}, {@code SigtermDrain}, {@code Overload}),
 * records pass/fail with its figures ({@code ScenarioResult}), writes {@code
 * reliability/results/<UTC time>.json} and prints a Markdown table. {@link
 * dev.confaas.reliability.IdleConnectionHolder} is a small program of its own: one process may
 * hold only as many sockets as its open-file limit allows, so the idle connections are spread over
 * several.
 *
 * <p>The harness sees the platform only from outside: HTTP on the gateway, Kafka with the client
 * settings {@code up} writes, the CLI for deploys, signals and {@code /proc} for the process. It
 * compiles against no ConFaaS module. The module is in the reactor only with the {@code
 * reliability} profile ({@code mvn -B -P reliability verify -pl reliability -am});
 * RELIABILITY.md at the repository root describes the scenarios and holds the latest figures.
 */
package dev.confaas.reliability;
