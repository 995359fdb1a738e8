package dev.confaas.scheduler;

import dev.confaas.policy.PolicyImage;
import dev.confaas.pool.PoolExhaustedException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * In-memory TDs for the dispatch and placement tests: a pool of {@code capacity} TDs whose agents
 * record loads, starts, calls and kills, and answer calls when the test says so. Single-threaded:
 * the tests run everything on their own thread.
 */
final class FakeTds implements TdSource {
  int capacity = 8;
  int maxImagesPerTd = 16;
  /** When set, runs (once) as an agent begins loading a chain: another start can run then. */
  Runnable beforeLoad;
  /** When set, every Start is refused with this reason. */
  String refuseStart;
  final List<FakeTd> handedOut = new ArrayList<>();
  final List<String> released = new ArrayList<>();
  final Map<String, String> retired = new LinkedHashMap<>();
  /** Calls the agents got and nobody answered yet, oldest first. */
  final Deque<Call> calls = new ArrayDeque<>();
  int starts;

  @Override
  public CompletableFuture<LeasedTd> acquire() {
    if (handedOut.size() >= capacity) {
      return CompletableFuture.failedFuture(
          new PoolExhaustedException("all " + capacity + " TDs of the pool are in use"));
    }
    FakeTd td = new FakeTd("td-" + (handedOut.size() + 1));
    handedOut.add(td);
    return CompletableFuture.completedFuture(td);
  }

  /** Idle TDs by ID: {@link #acquire(String)} hands them out (tests add them with {@link #idle}). */
  final Map<String, FakeTd> idle = new LinkedHashMap<>();

  FakeTd idle(String id) {
    FakeTd td = new FakeTd(id);
    idle.put(id, td);
    return td;
  }

  @Override
  public java.util.Optional<LeasedTd> acquire(String tdId) {
    FakeTd td = idle.remove(tdId);
    if (td != null) {
      handedOut.add(td);
    }
    return java.util.Optional.ofNullable(td);
  }

  @Override
  public void release(LeasedTd td) {
    released.add(td.id());
  }

  @Override
  public void retire(LeasedTd td, String reason) {
    retired.put(td.id(), reason);
  }

  @Override
  public int maxImagesPerTd() {
    return maxImagesPerTd;
  }

  FakeTd td(String id) {
    return handedOut.stream().filter(t -> t.id.equals(id)).findFirst().orElseThrow();
  }

  /** The oldest unanswered call. */
  Call nextCall() {
    Call c = calls.pollFirst();
    if (c == null) {
      throw new AssertionError("no call reached an agent");
    }
    return c;
  }

  /** One invocation an agent received. */
  record Call(FakeTd td, String instanceId, InvocationRequest request, CompletableFuture<TdAgent.Reply> reply) {
    String event() {
      return new String(request.payload(), StandardCharsets.UTF_8);
    }

    /** The function answers with its event in upper case. */
    void answer() {
      reply.complete(new TdAgent.Reply(request.requestId(),
          event().toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8), null, instanceId,
          Duration.ofMillis(3)));
    }

    /** The agent answers as for a sealed request: the bytes it sealed, and its receipt. */
    void answerSealed(byte[] sealedResponse, String receipt) {
      reply.complete(new TdAgent.Reply(request.requestId(), sealedResponse, null, instanceId,
          Duration.ofMillis(3), receipt, sealedResponse));
    }

    void fail(TdAgent.CallFailed.Kind kind, String why) {
      reply.completeExceptionally(new TdAgent.CallFailed(kind, why, null));
    }
  }

  /** One TD: what the pool records as loaded, and its agent. */
  final class FakeTd implements LeasedTd, TdAgent {
    final String id;
    /** The pool's record of loaded images. */
    final List<String> held = new ArrayList<>();
    final List<String> loads = new ArrayList<>();
    final List<String> kills = new ArrayList<>();
    /** The deployment each Start named, in order. */
    final List<DeployedFunction> started = new ArrayList<>();
    boolean alive = true;
    boolean acceptsWork = true;
    private int instances;

    FakeTd(String id) {
      this.id = id;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public List<String> heldImages() {
      return List.copyOf(held);
    }

    @Override
    public boolean isAlive() {
      return alive;
    }

    @Override
    public boolean acceptsWork() {
      return acceptsWork && alive;
    }

    @Override
    public TdAgent agent() {
      return this;
    }

    @Override
    public int loadChain(List<ImageFacts> chain) {
      Runnable hook = beforeLoad;
      beforeLoad = null;
      if (hook != null) {
        hook.run();
      }
      int n = 0;
      for (ImageFacts f : chain) {
        if (!held.contains(f.imageId())) {
          loads.add(f.imageId());
          held.add(f.imageId());
          n++;
        }
      }
      return n;
    }

    @Override
    public String start(String imageId, DeployedFunction deployment) throws Refused {
      if (refuseStart != null) {
        throw new Refused("Start of " + imageId + " refused: " + refuseStart, null);
      }
      starts++;
      started.add(deployment);
      return id + "-i" + (++instances);
    }

    @Override
    public CompletableFuture<Reply> invoke(String instanceId, InvocationRequest request, Duration timeout) {
      CompletableFuture<Reply> f = new CompletableFuture<>();
      calls.addLast(new Call(this, instanceId, request, f));
      return f;
    }

    @Override
    public CompletableFuture<Void> kill(String instanceId) {
      kills.add(instanceId);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public String toString() {
      return id + held;
    }
  }

  // --- images ------------------------------------------------------------------------------------

  /** Image facts without manifests: the fakes never send one. */
  static ImageFacts image(String signer, String name, List<String> accepts, boolean rejectUnaccepted) {
    return new ImageFacts(
        null, PolicyImage.of("sha384/" + hex(signer) + "/" + hex(name), List.of(), accepts, rejectUnaccepted), 0);
  }

  /** A vendor framework with no policy of its own (accepting all would make every pair acceptable, transitively). */
  static ImageFacts framework() {
    return new ImageFacts(
        null,
        PolicyImage.of("sha384/" + hex("vendor") + "/" + hex("shell"), List.of("confaas-shell:1"),
            List.of(), false),
        0);
  }

  static ImageFacts withMaxInstances(ImageFacts f, long maxInstances) {
    return new ImageFacts(null, f.policy(), maxInstances);
  }

  /** A function of {@code signer} that accepts the vendor's images and its own signer's only. */
  static ImageFacts function(String signer, String name) {
    return image(signer, name, List.of("sha384/" + hex("vendor") + "/*", "sha384/" + hex(signer) + "/*"), true);
  }

  static String hex(String seed) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-384").digest(seed.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs submitted tasks when the test says so. */
  static final class ManualExecutor implements Executor {
    final Deque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      tasks.addLast(r);
    }

    /** Runs the tasks queued so far and those they queue, until none is left. */
    void runAll() {
      Runnable r;
      while ((r = tasks.pollFirst()) != null) {
        r.run();
      }
    }

    void runOne() {
      tasks.removeFirst().run();
    }
  }

  /** A clock the test moves. */
  static final class PinnedClock extends Clock {
    private Instant now;

    PinnedClock(Instant start) {
      this.now = start;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }
}
