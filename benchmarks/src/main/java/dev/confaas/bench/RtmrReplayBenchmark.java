package dev.confaas.bench;

import dev.confaas.attestation.RtmrLog;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
 * What the host does with a TD's RTMR3 log on every attestation: parse the ACON log text (INIT,
 * {@code images} AddManifest lines), check each line, replay it to an RTMR value and compare with
 * the quoted RTMR3. Baseline: the raw hash chain over the same line bytes (one SHA-384 per line
 * and one per extend), no parsing or checks.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RtmrReplayBenchmark {

  @Param({"8"})
  public int images;

  private String text;
  private byte[] quotedRtmr3;
  private List<byte[]> lineBytes;

  @Setup
  public void setup() {
    RtmrLog log = RtmrLog.empty();
    for (int i = 0; i < images; i++) {
      log =
          log.appendManifest(
              "sha384/"
                  + PolicyAdmissionBenchmark.hex("author")
                  + "/"
                  + PolicyAdmissionBenchmark.hex("image " + i));
    }
    text = log.toText();
    quotedRtmr3 = log.value();
    lineBytes = log.lines().stream().map(l -> l.getBytes(StandardCharsets.UTF_8)).toList();
    if (!replay() || !java.util.Arrays.equals(baselineRawSha384Chain(), quotedRtmr3)) {
      throw new IllegalStateException(
          "the baseline hash chain does not reproduce RtmrLog's value; fix the baseline");
    }
  }

  /** Parse, check and replay the log text, then compare with the quoted value. */
  @Benchmark
  public boolean replay() {
    return RtmrLog.parse(text).matches(quotedRtmr3);
  }

  /** Baseline: RTMR := SHA-384(RTMR || SHA-384(line)) over the same bytes. */
  @Benchmark
  public byte[] baselineRawSha384Chain() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-384");
      byte[] rtmr = new byte[48];
      for (byte[] line : lineBytes) {
        byte[] digest = md.digest(line);
        md.update(rtmr);
        rtmr = md.digest(digest);
      }
      return rtmr;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
