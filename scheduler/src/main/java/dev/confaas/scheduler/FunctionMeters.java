package dev.confaas.scheduler;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * One function version's meters (queue depth, in-flight, warm instances, latency), registered when
 * the dispatcher first sees it and removed when it forgets it, so the registry does not grow with
 * every version ever deployed.
 */
final class FunctionMeters {
  private final MeterRegistry registry;
  private final List<Meter> meters;
  final Timer latency;

  <T> FunctionMeters(
      MeterRegistry registry,
      DeployedFunction d,
      T source,
      ToDoubleFunction<T> queueDepth,
      ToDoubleFunction<T> inFlight,
      ToDoubleFunction<T> warm) {
    this.registry = registry;
    String name = d.name();
    String version = Integer.toString(d.version());
    latency =
        Timer.builder("confaas.scheduler.invocation.latency")
            .tags("function", name, "version", version)
            .description("time from sending an event to an instance until its outcome")
            .register(registry);
    meters =
        List.of(
            Gauge.builder("confaas.scheduler.queue.depth", source, queueDepth)
                .tags("function", name, "version", version)
                .description("invocations waiting for an instance")
                .register(registry),
            Gauge.builder("confaas.scheduler.inflight", source, inFlight)
                .tags("function", name, "version", version)
                .description("invocations running")
                .register(registry),
            Gauge.builder("confaas.scheduler.instances", source, warm)
                .tags("function", name, "version", version)
                .description("warm function instances")
                .register(registry),
            latency);
  }

  void remove() {
    for (Meter m : meters) {
      registry.remove(m);
    }
  }
}
