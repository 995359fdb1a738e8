package dev.confaas.attestation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real HTTP server on 127.0.0.1 serving the lunal collateral the way Intel PCS does. */
class PcsCollateralSourceTest {
  /** A clock the test moves by hand. */
  static final class MovableClock extends Clock {
    volatile Instant now;

    MovableClock(Instant now) {
      this.now = now;
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
      return this;
    }
  }

  HttpServer server;
  final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  URI base;

  @BeforeEach
  void serve() throws IOException {
    Path dir = TestVectors.dir("lunal-v4");
    TdxQuote quote = TdxQuote.parse(TestVectors.quote("lunal-v4"));
    // lunal ships no PCK CRL issuer chain: serve the PCK CA and root from the quote's own chain.
    List<java.security.cert.X509Certificate> chain =
        Pem.strictChain(quote.signatureData().pckCertChain(), "chain");
    String pckCrlChain = Pem.encode(chain.subList(1, 3));
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    route(
        "/tdx/certification/v4/tcb",
        dir.resolve("tcb_info.json"),
        "TCB-Info-Issuer-Chain",
        Files.readString(dir.resolve("tcb_info_issuer_chain.pem")),
        "fmspc=50806f000000");
    route(
        "/tdx/certification/v4/qe/identity",
        dir.resolve("qe_identity.json"),
        "SGX-Enclave-Identity-Issuer-Chain",
        Files.readString(dir.resolve("qe_identity_issuer_chain.pem")),
        null);
    route(
        "/sgx/certification/v4/pckcrl",
        dir.resolve("pck_crl.der"),
        "SGX-PCK-CRL-Issuer-Chain",
        pckCrlChain,
        "ca=platform&encoding=der");
    route("/sgx/certification/v4/rootcacrl", dir.resolve("root_ca_crl.der"), null, null, null);
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  private void route(String path, Path body, String header, String chain, String query) {
    server.createContext(
        path,
        (HttpExchange ex) -> {
          hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
          if (query != null && !query.equals(ex.getRequestURI().getQuery())) {
            ex.getResponseHeaders()
                .add("Error-Message", "no collateral for " + ex.getRequestURI().getQuery());
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
          }
          byte[] b = Files.readAllBytes(body);
          if (header != null) {
            ex.getResponseHeaders().add(header, URLEncoder.encode(chain, StandardCharsets.UTF_8));
          }
          ex.sendResponseHeaders(200, b.length);
          ex.getResponseBody().write(b);
          ex.close();
        });
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void fetchedCollateralVerifiesTheQuoteAndIsCachedUntilNextUpdate() {
    MovableClock clock = new MovableClock(TestVectors.LUNAL_TIME);
    PcsCollateralSource pcs = new PcsCollateralSource(base, clock);
    TdxQuote quote = TdxQuote.parse(TestVectors.quote("lunal-v4"));

    Collateral c = pcs.collateralFor(quote);
    QuoteVerification v = QuoteVerifier.intel(clock).verify(quote, c);
    assertTrue(v.verified(), v.toString());
    assertEquals(1, hits.get("/tdx/certification/v4/tcb").get());

    assertEquals(c, pcs.collateral("50806F000000", "platform"), "second call served from cache");
    assertEquals(1, hits.get("/tdx/certification/v4/tcb").get());

    clock.now = c.nextUpdate().plus(Duration.ofSeconds(1));
    pcs.collateral("50806f000000", "platform");
    assertEquals(2, hits.get("/tdx/certification/v4/tcb").get(), "refetched after nextUpdate");
  }

  @Test
  void aFixedSourceAnswersWithItsCollateral() {
    Collateral c = TestVectors.collateral("lunal-v4");
    TdxQuote quote = TdxQuote.parse(TestVectors.quote("lunal-v4"));
    assertEquals(c, CollateralSource.of(c).collateralFor(quote));
    assertEquals("50806f000000", c.fmspc());
  }

  @Test
  void serviceErrorsNameTheUrlAndStatus() {
    PcsCollateralSource pcs =
        new PcsCollateralSource(base, Clock.fixed(TestVectors.LUNAL_TIME, ZoneOffset.UTC));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> pcs.collateral("90c06f000000", "platform"));
    assertTrue(
        e.getMessage().contains("404") && e.getMessage().contains("fmspc=90c06f000000"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> pcs.collateral("xyz", "platform"));
  }
}
