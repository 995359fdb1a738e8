package dev.confaas.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.image.CanonicalJson;
import dev.confaas.image.ImageId;
import dev.confaas.image.SignerId;
import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The image ID of a real ACON manifest (the spec's example, {@code
 * image/src/test/resources/canonical/inputs/acon-example.json}): strict parse, canonical JSON
 * ({@code jq -jcS .}) and SHA-384 under the signer's algorithm. Baseline: Jackson's tree parse,
 * compact (not canonical: key order kept, no strictness checks) serialization and the same SHA-384
 * — what a platform that skipped canonicalization would pay.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ImageIdBenchmark {
  private static final ObjectMapper JACKSON = new ObjectMapper();

  private byte[] manifest;
  private SignerId signer;

  @Setup
  public void setup() throws IOException {
    manifest =
        Files.readAllBytes(
            TestData.find(Path.of("image/src/test/resources/canonical/inputs/acon-example.json")));
    signer = SigningKeys.generate("bench author", Clock.systemUTC()).signerId();
  }

  /** Canonical bytes of the manifest and the image ID over them. */
  @Benchmark
  public ImageId canonicalImageId() {
    return ImageId.of(signer, CanonicalJson.canonicalize(manifest));
  }

  /** Baseline: Jackson compact serialization of the same tree, hashed with SHA-384. */
  @Benchmark
  public byte[] baselineJacksonCompactSha384() throws IOException, NoSuchAlgorithmException {
    byte[] compact = JACKSON.writeValueAsBytes(JACKSON.readTree(manifest));
    return MessageDigest.getInstance("SHA-384").digest(compact);
  }
}
