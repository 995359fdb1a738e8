package dev.confaas.bench;

import dev.confaas.policy.Admission;
import dev.confaas.policy.PolicyGraph;
import dev.confaas.policy.PolicyImage;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Launch-policy admission as the agent runs it for every AddManifest ({@link PolicyGraph#tryAdd}):
 * a TD already holding the vendor's shell framework image and {@code loaded - 1} functions of one
 * author (each accepting the framework by alias and the author's other images), admitting one more
 * function of that author. Baseline: the same call for an image already loaded, which acond
 * accepts without judging the graph (the least admission can cost).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PolicyAdmissionBenchmark {

  /** Images already in the TD (framework + functions); the graph search grows with it. */
  @Param({"4", "12"})
  public int loaded;

  private PolicyGraph graph;
  private PolicyImage candidate;
  private PolicyImage alreadyLoaded;

  @Setup
  public void setup() {
    String vendor = hex("vendor certificate");
    String author = hex("author certificate");
    PolicyImage framework =
        PolicyImage.of(
            "sha384/" + vendor + "/" + hex("confaas-shell layer manifest"),
            List.of("confaas-shell:1"),
            List.of("sha384/" + author + "/*"),
            true);
    List<PolicyImage> images = new ArrayList<>();
    images.add(framework);
    for (int i = 1; i < loaded; i++) {
      images.add(function(author, vendor, "function " + i));
    }
    PolicyGraph g = PolicyGraph.empty();
    for (PolicyImage image : images) {
      g = accepted(g.tryAdd(image), image);
    }
    graph = g;
    candidate = function(author, vendor, "the new function");
    alreadyLoaded = images.get(images.size() - 1);
    accepted(graph.tryAdd(candidate), candidate);
  }

  /** Judges the would-be graph with one more function image. */
  @Benchmark
  public Admission admitNewFunction() {
    return graph.tryAdd(candidate);
  }

  /** Baseline: an image whose ID is already loaded (an ID lookup, no graph search). */
  @Benchmark
  public Admission baselineAlreadyLoaded() {
    return graph.tryAdd(alreadyLoaded);
  }

  private static PolicyImage function(String author, String vendor, String label) {
    return PolicyImage.of(
        "sha384/" + author + "/" + hex("manifest of " + label),
        List.of(),
        List.of("sha384/" + vendor + "/confaas-shell:1", "sha384/" + author + "/*"),
        true);
  }

  private static PolicyGraph accepted(Admission a, PolicyImage image) {
    if (a instanceof Admission.Accepted ok) {
      return ok.graph();
    }
    throw new IllegalStateException("benchmark set refused " + image.describe() + ": " + a);
  }

  static String hex(String seed) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-384").digest(seed.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
