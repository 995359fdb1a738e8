/**
 * Placement of function instances onto TDs under launch policy and capacity, instance lifecycle,
 * per-function concurrency, queueing with deadlines, and scaling.
 *
 * <p>The contract ({@link dev.confaas.scheduler.FunctionInvoker}, requests, results, rejections,
 * {@link dev.confaas.scheduler.FunctionCatalog}) is shared with the gateway and the triggers; {@link
 * dev.confaas.scheduler.Scheduler} implements it over a {@link dev.confaas.pool.WarmPool}. Inside,
 * each part has one reason to change:
 *
 * <ul>
 *   <li>{@code Dispatcher}: queues ({@code FairQueues}), deadlines, fairness, concurrency,
 *       keep-alive, one state machine per {@code Instance}; decides under its monitor, acts outside.
 *   <li>{@code InstanceStarter}: {@code Placement} (pure), then load and start, on its own bounded
 *       executor; verified images come from a bounded cache ({@code ImageFactsCache}).
 *   <li>{@code TdSource} / {@code TdAgent}: the seam in front of the pool and the agent, so the two
 *       above are tested with in-memory TDs. {@code WarmPoolTds} is the one real adapter and, with
 *       {@code AgentLoader}, the only code here that speaks the agent's gRPC. What a TD holds is
 *       recorded once, by the pool; placement reads it there.
 * </ul>
 *
 * <pre>{@code
 * WarmPool pool = new WarmPool(launcher, launcher.attestor(), PoolConfig.defaults(),
 *     clock, timer, workers, meters);
 * Scheduler scheduler = new Scheduler(catalog, imageRepository, pool,
 *     SchedulerConfig.defaults(), clock, timer, workers, meters);
 * pool.start();
 * scheduler.start();
 * scheduler.invoke(new InvocationRequest("hello", null, event, deadline, requestId, ""))
 *     .thenAccept(result -> ...);   // result.tdId(), imageId(), instanceId() say where it ran
 * }</pre>
 */
package dev.confaas.scheduler;
