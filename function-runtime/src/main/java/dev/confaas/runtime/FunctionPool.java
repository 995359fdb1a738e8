package dev.confaas.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The instances of one function (image) and the invocations waiting for one of them.
 *
 * <p>An invocation goes to an idle instance; if none is idle it waits in a bounded queue, and a new
 * instance is started when the image's {@code maxInstances} allows. An instance that dies (crash,
 * timeout, init failure) is never restarted or replaced by the agent: the host owns the lifecycle
 * of what it started, and must see exactly the instances it knows of (README, "Instance
 * lifecycle"). Its place is free again before its invocation is answered. Only invocations that
 * name the image rather than an instance still waiting here make the pool start one on demand.
 */
final class FunctionPool implements FunctionInstance.Owner {
  private record Queued(
      Invocation invocation, CompletableFuture<InstanceOutcome> result, FunctionInstance target) {}

  private final FunctionSpec spec;
  private final SupervisorContext ctx;
  private final Supplier<String> newInstanceId;
  private final Consumer<FunctionInstance> started;
  private final int maxQueued;
  private final List<FunctionInstance> live = new ArrayList<>();
  private final Deque<Queued> queue = new ArrayDeque<>();

  FunctionPool(
      FunctionSpec spec,
      SupervisorContext ctx,
      Supplier<String> newInstanceId,
      Consumer<FunctionInstance> started,
      int maxQueued) {
    this.spec = spec;
    this.ctx = ctx;
    this.newInstanceId = newInstanceId;
    this.started = started;
    this.maxQueued = maxQueued;
  }

  FunctionSpec spec() {
    return spec;
  }

  /**
   * Starts an instance with the caller's environment.
   *
   * @throws IllegalArgumentException when the env rules refuse {@code env}
   * @throws CapacityExceededException when maxInstances instances already run
   */
  synchronized FunctionInstance start(List<String> env, InstanceSettings settings) {
    spec.envRules().resolve(env); // a refused env is the caller's error, whatever the capacity
    if (!hasRoom()) {
      throw new CapacityExceededException(
          "image " + spec.imageId() + " already runs " + live.size()
              + " instance(s), its manifest's maxInstances; kill one or wait");
    }
    return startLocked(env, settings);
  }

  private FunctionInstance startLocked(List<String> env, InstanceSettings settings) {
    FunctionInstance instance =
        new FunctionInstance(newInstanceId.get(), spec, settings, env, ctx, this);
    live.add(instance);
    started.accept(instance);
    ctx.workers().execute(instance::launch);
    return instance;
  }

  private boolean hasRoom() {
    return spec.maxInstances() == 0 || live.size() < spec.maxInstances();
  }

  /** Runs an invocation on {@code target}, or on any instance when it is null. */
  CompletableFuture<InstanceOutcome> invoke(Invocation invocation, FunctionInstance target) {
    CompletableFuture<InstanceOutcome> result = new CompletableFuture<>();
    synchronized (this) {
      if (target != null) {
        if (!live.contains(target)) {
          throw new IllegalStateException(
              "instance " + target.id + " has exited (status " + target.status().exitStatus() + ")");
        }
        if (!target.tryInvoke(invocation, result)) {
          enqueue(new Queued(invocation, result, target));
        }
        return result;
      }
      for (FunctionInstance instance : live) {
        if (instance.tryInvoke(invocation, result)) {
          return result;
        }
      }
      enqueue(new Queued(invocation, result, null));
      long starting = live.stream().filter(FunctionInstance::isStarting).count();
      long waiting = queue.stream().filter(q -> q.target() == null).count();
      if (waiting > starting && hasRoom()) {
        startLocked(List.of(), InstanceSettings.defaults(spec));
      }
    }
    return result;
  }

  private void enqueue(Queued q) {
    if (queue.size() >= maxQueued) {
      throw new CapacityExceededException(
          "image " + spec.imageId() + " has " + queue.size()
              + " invocations waiting for an instance (the limit); retry later");
    }
    queue.add(q);
    // A caller that gives up (cancels) leaves the queue at once.
    q.result().whenComplete((r, e) -> {
      synchronized (this) {
        queue.remove(q);
      }
    });
  }

  @Override
  public synchronized void becameIdle(FunctionInstance instance) {
    for (Iterator<Queued> it = queue.iterator(); it.hasNext(); ) {
      Queued q = it.next();
      if (q.target() != null && q.target() != instance) {
        continue;
      }
      if (q.result().isDone()) {
        it.remove();
        continue;
      }
      if (instance.tryInvoke(q.invocation(), q.result())) {
        it.remove();
      }
      return;
    }
  }

  @Override
  public void exited(FunctionInstance instance, FunctionFailure initFailure) {
    List<Runnable> completions = new ArrayList<>();
    synchronized (this) {
      live.remove(instance);
      for (Iterator<Queued> it = queue.iterator(); it.hasNext(); ) {
        Queued q = it.next();
        if (q.target() == instance) {
          it.remove();
          FunctionFailure f =
              initFailure != null
                  ? initFailure
                  : new FunctionFailure(
                      FunctionFailure.Kind.CRASHED,
                      "Runtime.ExitError",
                      "instance " + instance.id + " exited ("
                          + FunctionInstance.describeStatus(instance.status().exitStatus())
                          + ") before it could take the invocation",
                      instance.status().exitStatus());
          completions.add(() -> q.result().complete(failed(q, instance, f)));
        }
      }
      boolean othersAlive = live.stream().anyMatch(FunctionInstance::isLive);
      if (initFailure != null && !othersAlive) {
        Queued head = queue.stream().filter(q -> q.target() == null).findFirst().orElse(null);
        if (head != null) {
          queue.remove(head);
          completions.add(() -> head.result().complete(failed(head, instance, initFailure)));
        }
      }
      long starting = live.stream().filter(FunctionInstance::isStarting).count();
      long waiting = queue.stream().filter(q -> q.target() == null).count();
      if (waiting > starting && hasRoom()) {
        startLocked(List.of(), InstanceSettings.defaults(spec));
      }
    }
    completions.forEach(Runnable::run);
  }

  private InstanceOutcome failed(Queued q, FunctionInstance instance, FunctionFailure f) {
    return new InstanceOutcome(
        q.invocation().requestId(), instance.id, null, f, java.time.Duration.ZERO);
  }

  synchronized List<FunctionInstance> instances() {
    return List.copyOf(live);
  }

  /** Stops every instance and fails what waits; the future completes when all have ended. */
  CompletableFuture<Void> stopAll() {
    List<FunctionInstance> all;
    List<Queued> waiting;
    synchronized (this) {
      all = List.copyOf(live);
      waiting = List.copyOf(queue);
      queue.clear();
    }
    for (Queued q : waiting) {
      q.result().completeExceptionally(new IllegalStateException("the agent is shutting down"));
    }
    all.forEach(FunctionInstance::stop);
    return CompletableFuture.allOf(all.stream().map(FunctionInstance::ended).toArray(CompletableFuture[]::new));
  }
}
