package dev.confaas.attestation;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.LoadingCache;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * Fetches collateral from Intel PCS or a PCS-compatible service (PCCS) with the API v4 paths, and
 * caches it until its earliest {@code nextUpdate} (read from the injected clock, so tests need not
 * wait):
 *
 * <ul>
 *   <li>{@code GET /tdx/certification/v4/tcb?fmspc=<hex>} — TCB Info; issuer chain in header {@code
 *       TCB-Info-Issuer-Chain}
 *   <li>{@code GET /tdx/certification/v4/qe/identity} — TD_QE identity; header {@code
 *       SGX-Enclave-Identity-Issuer-Chain}
 *   <li>{@code GET /sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der} — PCK CRL;
 *       header {@code SGX-PCK-CRL-Issuer-Chain}
 *   <li>Root CA CRL — by default {@code GET /sgx/certification/v4/rootcacrl} (PCCS); Intel
 *       publishes it at {@code https://certificates.trustedservices.intel.com/IntelSGXRootCA.der}.
 * </ul>
 *
 * Issuer chains arrive URL-encoded in the headers. Bodies of CRLs may be DER, PEM or hex-encoded
 * DER. The fetch is blocking: call it off any event loop.
 */
public final class PcsCollateralSource implements CollateralSource {
  private final URI base;
  private final URI rootCaCrl;
  private final HttpClient http;
  private final Duration timeout;
  private final Clock clock;
  private final LoadingCache<String, Collateral> cache;

  /** A source for {@code baseUrl} (e.g. {@code https://api.trustedservices.intel.com}). */
  public PcsCollateralSource(URI baseUrl, Clock clock) {
    this(
        baseUrl, baseUrl.resolve("/sgx/certification/v4/rootcacrl"), clock, Duration.ofSeconds(20));
  }

  public PcsCollateralSource(URI baseUrl, URI rootCaCrlUrl, Clock clock, Duration timeout) {
    this.base = Objects.requireNonNull(baseUrl, "baseUrl");
    this.rootCaCrl = Objects.requireNonNull(rootCaCrlUrl, "rootCaCrlUrl");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(256)
            .ticker(() -> nanos(clock.instant()))
            .expireAfter(
                new Expiry<String, Collateral>() {
                  @Override
                  public long expireAfterCreate(String key, Collateral c, long now) {
                    return Math.max(0, Duration.between(clock.instant(), c.nextUpdate()).toNanos());
                  }

                  @Override
                  public long expireAfterUpdate(String k, Collateral c, long now, long current) {
                    return expireAfterCreate(k, c, now);
                  }

                  @Override
                  public long expireAfterRead(String k, Collateral c, long now, long current) {
                    return current;
                  }
                })
            .build(this::fetch);
  }

  private static long nanos(Instant t) {
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  @Override
  public Collateral collateral(String fmspc, String pckCa) {
    String f = fmspc.toLowerCase(Locale.ROOT);
    if (!f.matches("[0-9a-f]{12}")) {
      throw new IllegalArgumentException("FMSPC must be 12 hex digits, got '" + fmspc + "'");
    }
    if (!pckCa.equals("platform") && !pckCa.equals("processor")) {
      throw new IllegalArgumentException(
          "PCK CA must be 'platform' or 'processor', got '" + pckCa + "'");
    }
    return cache.get(f + "/" + pckCa);
  }

  private Collateral fetch(String key) {
    String fmspc = key.substring(0, key.indexOf('/'));
    String ca = key.substring(key.indexOf('/') + 1);
    HttpResponse<byte[]> tcb = get(base.resolve("/tdx/certification/v4/tcb?fmspc=" + fmspc));
    HttpResponse<byte[]> qe = get(base.resolve("/tdx/certification/v4/qe/identity"));
    HttpResponse<byte[]> pckCrl =
        get(base.resolve("/sgx/certification/v4/pckcrl?ca=" + ca + "&encoding=der"));
    HttpResponse<byte[]> rootCrl = get(rootCaCrl);
    return Collateral.of(
        tcb.body(),
        qe.body(),
        header(tcb, "TCB-Info-Issuer-Chain"),
        header(qe, "SGX-Enclave-Identity-Issuer-Chain"),
        crlBytes(pckCrl),
        header(pckCrl, "SGX-PCK-CRL-Issuer-Chain"),
        crlBytes(rootCrl),
        null);
  }

  private HttpResponse<byte[]> get(URI uri) {
    HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    try {
      HttpResponse<byte[]> resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
      if (resp.statusCode() != 200) {
        String err = resp.headers().firstValue("Error-Message").orElse("");
        throw new IllegalStateException(
            "collateral service answered "
                + resp.statusCode()
                + " for "
                + uri
                + (err.isEmpty() ? "" : " (" + err + ")"));
      }
      return resp;
    } catch (IOException e) {
      throw new IllegalStateException("cannot fetch " + uri + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while fetching " + uri, e);
    }
  }

  private static byte[] header(HttpResponse<?> resp, String name) {
    String v =
        resp.headers()
            .firstValue(name)
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        resp.uri() + " sent no " + name + " header (the issuer chain)"));
    return URLDecoder.decode(v, StandardCharsets.UTF_8).getBytes(StandardCharsets.US_ASCII);
  }

  /** CRL bodies come as DER, PEM, or (from some PCCS versions) hex-encoded DER. */
  static byte[] crlBytes(HttpResponse<byte[]> resp) {
    byte[] b = resp.body();
    if (b.length > 0 && b[0] == 0x30) {
      return b;
    }
    String s = new String(b, StandardCharsets.US_ASCII).strip();
    if (s.startsWith("-----BEGIN X509 CRL-----")) {
      String body = s.replace("-----BEGIN X509 CRL-----", "").replace("-----END X509 CRL-----", "");
      return Base64.getMimeDecoder().decode(body);
    }
    try {
      return HexFormat.of().parseHex(s.toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(resp.uri() + " did not return a CRL (DER, PEM or hex)", e);
    }
  }
}
