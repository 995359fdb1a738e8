package dev.confaas.bench;

import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.TdxQuote;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Full DCAP verification of a real TDX quote (lunal v4, Intel-signed) against parsed collateral —
 * parse, PCK chain, CRLs and validity windows, QE report, attestation-key binding, quote signature,
 * QE identity and TCB level — versus its baseline: one bare {@code Signature.verify} of the same
 * quote signature, the least any verifier must do.
 *
 * <p>Test data is read from {@code attestation/src/test/resources/tdx/lunal-v4}, found from the
 * working directory upward (or {@code -Dconfaas.tdx.dir=...}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class QuoteVerifyBenchmark {
  static final Instant AT = Instant.parse("2026-04-01T00:00:00Z");

  /** The provider QuoteVerifier uses, so the baseline is the same primitive. */
  static final Provider BC = new BouncyCastleProvider();

  private QuoteVerifier verifier;
  private Collateral collateral;
  private byte[] quote;
  private PublicKey attestationKey;
  private byte[] signedRegion;
  private byte[] signature;

  @Setup
  public void setup() throws IOException, GeneralSecurityException {
    Path dir = testData();
    quote = Files.readAllBytes(dir.resolve("quote.dat"));
    collateral = Collateral.load(dir);
    verifier = QuoteVerifier.intel(Clock.fixed(AT, ZoneOffset.UTC));
    QuoteVerification v = verifier.verify(quote, collateral);
    if (!v.verified()) {
      throw new IllegalStateException("benchmark quote does not verify: " + v);
    }
    TdxQuote parsed = TdxQuote.parse(quote);
    signedRegion = parsed.signedRegion();
    signature = parsed.signatureData().quoteSignature();
    attestationKey = p256(parsed.signatureData().attestationKey());
    if (!baselineSignatureVerify()) {
      throw new IllegalStateException("baseline signature does not verify");
    }
  }

  /** Everything QuoteVerifier does for one quote (bytes in), collateral already parsed. */
  @Benchmark
  public QuoteVerification verifyQuote() {
    return verifier.verify(quote, collateral);
  }

  /** Baseline: the quote signature alone, ECDSA P-256/SHA-256 (r||s) over header + TD report. */
  @Benchmark
  public boolean baselineSignatureVerify() throws GeneralSecurityException {
    Signature s = Signature.getInstance("SHA256withPLAIN-ECDSA", BC);
    s.initVerify(attestationKey);
    s.update(signedRegion);
    return s.verify(signature);
  }

  private static PublicKey p256(byte[] xy) throws GeneralSecurityException {
    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
    p.init(new ECGenParameterSpec("secp256r1"));
    ECPoint w =
        new ECPoint(
            new BigInteger(1, Arrays.copyOfRange(xy, 0, 32)),
            new BigInteger(1, Arrays.copyOfRange(xy, 32, 64)));
    return KeyFactory.getInstance("EC")
        .generatePublic(new ECPublicKeySpec(w, p.getParameterSpec(ECParameterSpec.class)));
  }

  private static Path testData() {
    String configured = System.getProperty("confaas.tdx.dir");
    if (configured != null) {
      return Path.of(configured);
    }
    Path rel = Path.of("attestation/src/test/resources/tdx/lunal-v4");
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve(rel).resolve("quote.dat"))) {
        return d.resolve(rel);
      }
    }
    throw new IllegalStateException(
        "cannot find " + rel + " above the working directory; pass -Dconfaas.tdx.dir=DIR");
  }
}
