package dev.confaas.bench;

import dev.confaas.policy.PolicyImage;
import dev.confaas.scheduler.FairQueues;
import dev.confaas.scheduler.Placement;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The scheduler's decisions under contention, through their public API:
 *
 * <ul>
 *   <li>{@link Placement#choose}: 16 TDs in use, each holding the vendor's shell framework and 3
 *       functions of one of 4 authors, a quarter of them full; placing a new function of author 0
 *       means replaying each candidate TD's launch policies with the new chain. Baseline: the same
 *       scan choosing the fullest TD with room while ignoring launch policy (what a policy-blind
 *       scheduler would do).
 *   <li>{@link FairQueues}: 8 functions with queued invocations, one offered and one polled
 *       round-robin per operation. Baseline: one shared FIFO {@link ArrayDeque}.
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PlacementBenchmark {
  static final int TDS = 16;
  static final int MAX_PER_TD = 8;

  private List<Placement.TdView> tds;
  private List<PolicyImage> chain;
  private FairQueues<String, Queued> fair;
  private ArrayDeque<Queued> fifo;
  private String[] functions;
  private int next;

  record Queued(Instant deadline) implements FairQueues.Deadlined {}

  @Setup
  public void setup() {
    String vendor = hex("vendor certificate");
    PolicyImage framework =
        PolicyImage.of(
            "sha384/" + vendor + "/" + hex("confaas-shell"),
            List.of("confaas-shell:1"),
            List.of("sha384/*/*"),
            false);
    tds = new ArrayList<>();
    for (int t = 0; t < TDS; t++) {
      String author = hex("author " + (t % 4));
      List<PolicyImage> images = new ArrayList<>();
      images.add(framework);
      for (int f = 0; f < 3; f++) {
        images.add(function(author, vendor, "td " + t + " function " + f));
      }
      int instances = t % 4 == 3 ? MAX_PER_TD : 1 + t % 3;
      tds.add(new Placement.TdView("td-" + t, List.copyOf(images), instances, 0));
    }
    chain = List.of(framework, function(hex("author 0"), vendor, "the new function"));
    Placement.Choice c = Placement.choose(chain, 0, MAX_PER_TD, tds);
    if (c.tdId().isEmpty()) {
      throw new IllegalStateException("benchmark set places nowhere: " + c.why());
    }

    functions = new String[8];
    fair = new FairQueues<>(1024);
    fifo = new ArrayDeque<>();
    Instant deadline = Instant.parse("2030-01-01T00:00:00Z");
    for (int i = 0; i < functions.length; i++) {
      functions[i] = "function-" + i;
      for (int q = 0; q < 16; q++) {
        fair.offer(functions[i], new Queued(deadline));
        fifo.addLast(new Queued(deadline));
      }
    }
  }

  /** Chooses a TD for the new function by launch policy, then packing preferences. */
  @Benchmark
  public Placement.Choice place() {
    return Placement.choose(chain, 0, MAX_PER_TD, tds);
  }

  /** Baseline: the fullest TD with room, launch policy ignored. */
  @Benchmark
  public String baselinePolicyBlindFullest() {
    Placement.TdView best = null;
    for (Placement.TdView td : tds) {
      if (td.instances() < MAX_PER_TD && (best == null || td.instances() > best.instances())) {
        best = td;
      }
    }
    return best == null ? null : best.tdId();
  }

  /** One invocation queued behind its function and the next one in round-robin turn dequeued. */
  @Benchmark
  public Queued fairQueueOfferPoll() {
    String f = functions[next++ & 7];
    fair.offer(f, new Queued(Instant.MAX));
    return fair.poll(k -> true);
  }

  /** Baseline: the same through one shared FIFO. */
  @Benchmark
  public Queued baselineFifoOfferPoll() {
    fifo.addLast(new Queued(Instant.MAX));
    return fifo.pollFirst();
  }

  private static PolicyImage function(String author, String vendor, String label) {
    return PolicyImage.of(
        "sha384/" + author + "/" + hex("manifest of " + label),
        List.of(),
        List.of("sha384/" + vendor + "/confaas-shell:1", "sha384/" + author + "/*"),
        true);
  }

  private static String hex(String seed) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-384").digest(seed.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
