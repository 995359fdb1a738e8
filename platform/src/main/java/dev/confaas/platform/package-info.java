/**
 * The platform: what {@code confaas up} runs, wired from the other modules, and its settings.
 *
 * <ul>
 *   <li>{@link dev.confaas.platform.Platform} is the composition root: the function registry, the
 *       vendor framework layers, the embedded Kafka broker, the warm pool on the {@code process}
 *       backend, the scheduler, the Kafka triggers and durable async invocations, and the gateway
 *       in front. It only wires; each part owns its behaviour.
 *   <li>{@link dev.confaas.platform.Settings} reads every tunable once at start: {@code
 *       confaas.yaml} in the data directory, then {@code CONFAAS_<SECTION>_<KEY>} environment
 *       variables, then flags, over built-in defaults; {@code confaas.reference.yaml} lists every
 *       key. Bad settings stop the start with a {@link dev.confaas.platform.SettingsException}
 *       naming each key.
 *   <li>{@link dev.confaas.platform.FunctionImageBuilder} and {@link
 *       dev.confaas.platform.SigningKeyFiles} build and sign a function image from a handler and
 *       keep signing keys on disk; the CLI's {@code deploy} and the sample function use them.
 *   <li>{@code AgentClassPath} cuts this JVM's class path down to what a {@code process}-backend
 *       agent runs. The agent ({@code function-runtime}) is only a runtime dependency: the host
 *       launches it as a program and never compiles against it.
 * </ul>
 */
package dev.confaas.platform;
