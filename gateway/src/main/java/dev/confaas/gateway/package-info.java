/**
 * The gateway: the Vert.x HTTP API through which functions are deployed, invoked (synchronously and
 * asynchronously) and managed, and the function registry behind it.
 *
 * <ul>
 *   <li>{@link dev.confaas.gateway.Gateway} serves the routes (see {@code gateway/README.md}): it
 *       hands invocations to a {@link dev.confaas.scheduler.FunctionInvoker}, maps outcomes to HTTP
 *       statuses, checks bearer tokens (management and per-function invoke tokens), limits bodies,
 *       records Micrometer meters in a Prometheus registry it is given, and shuts down gracefully.
 *       {@link dev.confaas.gateway.GatewayConfig} says how it listens; extra routers (the Kafka
 *       trigger API) are mounted through it.
 *   <li>{@link dev.confaas.gateway.FunctionRegistry} stores deploys (versions, aliases, settings)
 *       under the data directory, checking each (signature, launch policy, alias resolution,
 *       layer digests) before storing it; it is the scheduler's {@link
 *       dev.confaas.scheduler.FunctionCatalog}. {@link dev.confaas.gateway.DeployBundle} is the
 *       deploy upload format both the gateway and the CLI use.
 *   <li>{@link dev.confaas.gateway.AsyncInvocations} is the contract for accepted-but-unfinished
 *       invocations; {@link dev.confaas.gateway.InMemoryAsyncInvocations} is a non-durable one.
 *       Sealed invocations (docs/sealed-invocations.md) go through both paths as ciphertext: the
 *       gateway relays (sync) or stores (async) the caller's encapsulated request and the TD's
 *       encapsulated response, pinned to the TD the request names, and never opens either.
 *   <li>{@link dev.confaas.gateway.FunctionLogs} keeps each deployed function's recent output
 *       lines (fed by the platform from the TDs' log streams) for {@code GET
 *       /v1/functions/NAME/logs}.
 *   <li>{@link dev.confaas.gateway.TdDirectory} and {@link dev.confaas.gateway.RuntimeCatalog} are
 *       what the warm pool and the platform's framework layers show through the API.
 *   <li>{@code dev.confaas.gateway.kafka} is the Kafka adapter: triggers, durable async
 *       invocations and the embedded broker.
 * </ul>
 *
 * <p>The {@code platform} module's {@code Platform}, the composition root {@code confaas up} runs,
 * wires what the gateway serves; nothing here starts a pool or a scheduler.
 *
 * <p>The gateway is host code, outside the trust boundary: its checks give early, clear errors, and
 * the TD agent repeats every check that protects a function. Nothing here blocks an event loop:
 * disk, signature verification and hashing run on Vert.x worker threads.
 */
package dev.confaas.gateway;
