/**
 * The {@code confaas} command line. {@link dev.confaas.cli.Main} wires the command groups and fixes
 * the conventions every command follows (exit 0 on success, 1 with a one-line reason, 2 on a usage
 * error; {@code --help} with examples; {@code --json} where scripts parse the output).
 *
 * <ul>
 *   <li>Running the platform: {@code up} (the whole platform in this process, see {@link
 *       dev.confaas.platform.Platform}).
 *   <li>Using it: {@code deploy}, {@code invoke}, {@code functions}, {@code trigger} — HTTP calls to
 *       the gateway found by {@link dev.confaas.cli.GatewayEndpoint} ({@code CONFAAS_URL} /
 *       {@code CONFAAS_TOKEN}, else the data directory). {@code invoke --sealed [--async]} is the
 *       caller's side of a sealed invocation ({@code SealedInvoke}): verify, seal, send or queue
 *       and poll, open, verify the receipt.
 *   <li>Images and keys, offline: {@code keygen}, {@code image build|import|sign|id|verify|inspect},
 *       {@code vendor publish|resolve}, {@code demo}.
 *   <li>Attestation, offline: {@code attest verify-quote}, {@code attest replay-rtmr}.
 * </ul>
 */
package dev.confaas.cli;
