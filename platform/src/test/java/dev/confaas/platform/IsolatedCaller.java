package dev.confaas.platform;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;

/**
 * A caller in a JVM of its own, so that the platform's JVM (the test's) never holds the event or
 * the answer a caller has in the clear: {@link SealedPlaintextOffTheHostTest} dumps that heap and
 * must find in it only what went through the platform. The caller derives its event from a seed
 * ({@link LeakMarkers}), sends it to a function that upper-cases its event, checks the answer, and
 * exits 0; on any failure it prints what failed (never the event or the answer) and exits 1.
 *
 * <p>{@code IsolatedCaller URL MODE FUNCTION SEED DATA_DIR}, the admin token in {@code
 * CONFAAS_TOKEN}. Modes: {@code sealed} (the whole caller's side of docs/sealed-invocations.md:
 * evidence verified against the dev root {@code up} wrote, sealed, sent, opened, receipt and
 * plaintext MACs checked), {@code plain} (POST .../invoke), {@code async} (POST .../invoke-async,
 * then poll the status), {@code logged} (plain, then wait until the function's log, which the
 * handler writes the event to, shows it).
 */
final class IsolatedCaller {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private final URI url;
  private final String token;

  private IsolatedCaller(URI url, String token) {
    this.url = url;
    this.token = token;
  }

  public static void main(String[] args) {
    try {
      String mode = args[1];
      String function = args[2];
      byte[] seed = Base64.getUrlDecoder().decode(args[3]);
      IsolatedCaller c = new IsolatedCaller(URI.create(args[0]), System.getenv("CONFAAS_TOKEN"));
      byte[] event = LeakMarkers.event(mode, seed);
      byte[] expected = LeakMarkers.response(mode, seed);
      switch (mode) {
        case "sealed" -> c.sealed(function, event, expected, Path.of(args[4]));
        case "plain" -> c.expect(c.post("/v1/functions/" + function + "/invoke", event, null).body(), expected);
        case "async" -> c.async(function, event, expected);
        case "logged" -> c.logged(function, event, expected);
        default -> throw new IllegalArgumentException("unknown mode " + mode);
      }
      System.out.println(mode + ": ok");
      System.exit(0);
    } catch (Exception | AssertionError e) {
      System.out.println("FAILED: " + e);
      System.exit(1);
    }
  }

  private void sealed(String function, byte[] event, byte[] expected, Path data) throws Exception {
    JsonObject doc = new JsonObject(new String(
        ok(get("/v1/functions/" + function + "/evidence?prepare=true")).body(), StandardCharsets.UTF_8));
    TdEvidence evidence = TdEvidence.parse(
        doc.getJsonArray("evidence").getJsonObject(0).encode().getBytes(StandardCharsets.UTF_8));
    Collateral collateral = Collateral.load(data.resolve("attestation/collateral"));
    ReceiptVerifier verifier = ReceiptVerifier.of(
        QuoteVerifier.trusting(collateral.trustedRoot().orElseThrow(), Clock.systemUTC()), collateral);
    ReceiptVerifier.Result checked = verifier.verifyEvidence(evidence);
    if (!checked.verified()) {
      throw new AssertionError("the TD's evidence did not verify:\n" + checked);
    }

    SealedMessages.ClientRequest sealed = SealedMessages.seal(
        evidence.sealingPublicKey(), doc.getString("imageId"), evidence.tdId(), event);
    byte[] request = sealed.encapsulated();
    HttpResponse<byte[]> r = post("/v1/functions/" + function + "/invoke", request, evidence.tdId());
    byte[] answer = sealed.openResponse(r.body());
    expect(answer, expected);

    String receipt = r.headers().firstValue("ConFaaS-Receipt")
        .orElseThrow(() -> new AssertionError("no ConFaaS-Receipt header"));
    ReceiptVerifier.Result v = verifier.verify(receipt, evidenceCovering(evidence, receipt), request, r.body());
    if (!v.verified()) {
      throw new AssertionError("the receipt did not verify:\n" + v);
    }
    Receipt.Claims c = Receipt.parse(receipt).claims();
    if (!c.sealed() || !sealed.plaintextMac(event).equals(c.eventPlaintextMac())
        || !sealed.plaintextMac(answer).equals(c.responsePlaintextMac())) {
      throw new AssertionError("the receipt's plaintext MACs are not over this event and answer");
    }
  }

  private void async(String function, byte[] event, byte[] expected) throws Exception {
    String id = new JsonObject(new String(
        post("/v1/functions/" + function + "/invoke-async", event, null).body(), StandardCharsets.UTF_8))
        .getString("invocationId");
    for (int i = 0; i < 600; i++) {
      JsonObject status = new JsonObject(new String(ok(get("/v1/invocations/" + id)).body(), StandardCharsets.UTF_8));
      switch (status.getString("state")) {
        case "SUCCEEDED" -> {
          expect(status.getString("result").getBytes(StandardCharsets.UTF_8), expected);
          return;
        }
        case "FAILED", "TIMED_OUT" -> throw new AssertionError("async invocation " + status.getString("state"));
        default -> Thread.sleep(100);
      }
    }
    throw new AssertionError("async invocation " + id + " did not finish within a minute");
  }

  private void logged(String function, byte[] event, byte[] expected) throws Exception {
    expect(post("/v1/functions/" + function + "/invoke", event, null).body(), expected);
    byte[] logs = new byte[0];
    for (int i = 0; i < 300; i++) {
      logs = ok(get("/v1/functions/" + function + "/logs")).body();
      if (contains(logs, event)) {
        return;
      }
      Thread.sleep(100);
    }
    // The test reads this output only when the call failed, after which its heap does not matter.
    throw new AssertionError("the function's log never showed the event it wrote to stderr; it holds:\n"
        + new String(logs, StandardCharsets.UTF_8));
  }

  /** The TD's evidence again once it covers the receipt's RTMR3 log (the pool re-attests after a load). */
  private TdEvidence evidenceCovering(TdEvidence evidence, String receipt) throws Exception {
    int needed = Receipt.parse(receipt).claims().rtmr3LogLength();
    for (int i = 0; i < 300 && evidence.rtmr3Log().size() < needed; i++) {
      Thread.sleep(100);
      evidence = TdEvidence.parse(ok(get("/v1/tds/" + evidence.tdId() + "/evidence")).body());
    }
    return evidence;
  }

  private HttpResponse<byte[]> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(url.resolve(path)).timeout(Duration.ofSeconds(90))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** POSTs {@code body}; sealed (with the TD header) when {@code td} is given. Insists on a 2xx. */
  private HttpResponse<byte[]> post(String path, byte[] body, String td) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(url.resolve(path)).timeout(Duration.ofSeconds(90))
        .header("Authorization", "Bearer " + token);
    if (td != null) {
      b.header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", td);
    }
    return ok(HTTP.send(b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray()));
  }

  private static HttpResponse<byte[]> ok(HttpResponse<byte[]> r) {
    if (r.statusCode() / 100 != 2) {
      // A problem document never echoes an event, so it is safe to show.
      throw new AssertionError(r.request().method() + " " + r.request().uri().getPath() + " answered "
          + r.statusCode() + ": " + new String(r.body(), StandardCharsets.UTF_8));
    }
    return r;
  }

  /** Fails without showing either value: the platform's test must not read them before its heap dump. */
  private static void expect(byte[] got, byte[] expected) {
    if (!Arrays.equals(got, expected)) {
      throw new AssertionError("the answer (" + got.length + " bytes) is not the upper-cased event ("
          + expected.length + " bytes)");
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
