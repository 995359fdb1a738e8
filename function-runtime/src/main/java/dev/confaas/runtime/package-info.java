/**
 * The agent that runs inside each TD (ACON's acond role): its gRPC service ({@link
 * dev.confaas.runtime.TdAgentService}, generated from {@code confaas/agent/v1/agent.proto}),
 * function instances isolated with Linux namespaces where the host allows ({@link
 * dev.confaas.runtime.InstanceSupervisor}), and the AWS Lambda Runtime API served to each instance.
 *
 * <p>Images are loaded by {@link dev.confaas.runtime.AconImageLoader} (signature, vendor aliases,
 * launch policy, measurement into RTMR3, layers unpacked once); Report is answered by {@link
 * dev.confaas.runtime.QuoteReporter} with a quote binding the agent's {@link
 * dev.confaas.agent.TlsIdentity}, the key its mutual-TLS server presents; {@link
 * dev.confaas.agent.PeerKeyTrustManager} pins either side of that channel to one key. {@link
 * dev.confaas.runtime.TdAgentMain} runs it all as a process.
 */
package dev.confaas.runtime;
