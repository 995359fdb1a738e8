/**
 * The contract between the untrusted host and the agent inside each TD, and nothing else: both
 * sides depend on this package, the host never on the agent (function-runtime).
 *
 * <ul>
 *   <li>{@code confaas/agent/v1/agent.proto} and its generated messages and stubs ({@code
 *       dev.confaas.agent.v1}), with the message sizes both ends must allow ({@link
 *       dev.confaas.agent.AgentLimits}).
 *   <li>Key pinning for the mutual-TLS channel: each side holds a {@link
 *       dev.confaas.agent.TlsIdentity} and trusts exactly the other's key through a {@link
 *       dev.confaas.agent.PeerKeyTrustManager}.
 *   <li>The host's one client, {@link dev.confaas.agent.AgentClient}: asynchronous calls with
 *       deadlines by kind, retries only for the read-only calls, and every failure classified once
 *       as an {@link dev.confaas.agent.AgentCallException}.
 *   <li>What binds a TD's keys to its quote and what a caller checks it by (docs/receipts.md): the
 *       REPORTDATA binding of the identity and sealing keys ({@link
 *       dev.confaas.agent.ReportDataBinding}, {@link dev.confaas.agent.SealingSuite}), the
 *       per-invocation receipt ({@link dev.confaas.agent.Receipt}), the evidence document ({@link
 *       dev.confaas.agent.TdEvidence}) and the offline {@link dev.confaas.agent.ReceiptVerifier}.
 *   <li>What a launcher needs to run the agent as a program ({@link dev.confaas.agent.AgentProgram})
 *       and to compute the {@code process} backend's MRTD over it ({@link
 *       dev.confaas.agent.AgentArtifacts}).
 * </ul>
 */
package dev.confaas.agent;
