/**
 * The agent that runs inside each TD (ACON's acond role): its gRPC service ({@link
 * dev.confaas.runtime.TdAgentService}, generated from {@code confaas/agent/v1/agent.proto}),
 * function instances isolated with Linux namespaces where the host allows ({@link
 * dev.confaas.runtime.InstanceSupervisor}), and the AWS Lambda Runtime API served to each instance.
 * Image loading with signature, policy and measurement into RTMR3 plugs in as a {@link
 * dev.confaas.runtime.FunctionCatalog}.
 */
package dev.confaas.runtime;
