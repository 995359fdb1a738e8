/**
 * Placement of function instances onto TDs under launch policy and capacity, instance lifecycle,
 * per-function concurrency, queueing with deadlines, and scaling.
 *
 * <p>The contract ({@link dev.confaas.scheduler.FunctionInvoker}, requests, results, rejections,
 * {@link dev.confaas.scheduler.FunctionCatalog}) is shared with the gateway and the triggers; {@link
 * dev.confaas.scheduler.Scheduler} implements it over a {@link dev.confaas.pool.WarmPool}:
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
