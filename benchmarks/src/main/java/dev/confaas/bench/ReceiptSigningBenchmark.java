package dev.confaas.bench;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.attestation.RtmrLog;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
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
 * What the agent adds to every invocation for its receipt (docs/receipts.md), as its {@code
 * ReceiptSigner} does it: SHA-256 of the event and of the response (1 KiB each here), the image
 * list from the RTMR3 log (the vendor framework and the function loaded), the claims as JSON, the
 * RFC 7638 {@code kid}, one ES384 signature with the TD's identity key (JDK provider, P1363 form)
 * and the compact JWS. Baseline: one bare ES384 signature over a signing input of the same length,
 * the least a signed receipt can cost. A call without a receipt pays neither; the harness sets the
 * figure beside a whole warm invocation of the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ReceiptSigningBenchmark {
  private TlsIdentity identity;
  private RtmrLog log;
  private byte[] event;
  private byte[] response;
  private byte[] signingInput;

  @Setup
  public void setup() {
    identity = TlsIdentity.generate("confaas-td-agent", Clock.systemUTC());
    log = RtmrLog.empty()
        .appendManifest("sha384/" + PolicyAdmissionBenchmark.hex("vendor") + "/"
            + PolicyAdmissionBenchmark.hex("shell framework"))
        .appendManifest("sha384/" + PolicyAdmissionBenchmark.hex("author") + "/"
            + PolicyAdmissionBenchmark.hex("function"));
    event = new byte[1024];
    response = new byte[1024];
    Arrays.fill(event, (byte) 'e');
    Arrays.fill(response, (byte) 'r');
    String jws = signReceipt();
    if (!Receipt.parse(jws).signedBy(identity.publicKey())) {
      throw new IllegalStateException("the benchmark's receipt does not verify; fix the benchmark");
    }
    signingInput = jws.substring(0, jws.lastIndexOf('.')).getBytes(StandardCharsets.US_ASCII);
  }

  /** One receipt, as the agent makes it after an invocation. */
  @Benchmark
  public String signReceipt() {
    List<String> images = log.lines().stream()
        .filter(l -> l.startsWith(RtmrLog.ADD_MANIFEST_PREFIX))
        .map(l -> l.substring(RtmrLog.ADD_MANIFEST_PREFIX.length()))
        .toList();
    Receipt.Claims claims = new Receipt.Claims(
        "3f0c9a52-6d6e-4b8e-9d1c-0c1f4a7b2e11", "echo", "$LATEST", images.get(1), "process-bench-1",
        Receipt.sha256(event), Receipt.sha256(response), null, log.valueHex(), log.size(), images,
        1_796_190_330L);
    return Receipt.sign(claims, identity.publicKey(), identity::signEs384);
  }

  /** Baseline: one ES384 signature over a signing input of the receipt's length. */
  @Benchmark
  public byte[] baselineBareEs384() {
    return identity.signEs384(signingInput);
  }
}
