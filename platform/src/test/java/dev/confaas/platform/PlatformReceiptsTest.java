package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Receipts reach the caller and verify offline against the evidence the platform serves, on the
 * whole platform (real agent processes, simulated TDX): the sample's receipt from the {@code
 * ConFaaS-Receipt} header and from the async status checks out against {@code GET
 * /v1/tds/{id}/evidence} with the dev root and collateral {@code up} writes under {@code
 * DATA/attestation/}; altered bytes and another TD's evidence are refused naming the check; a
 * sealed request the host relays to another TD than it was sealed to is refused by that TD's agent.
 */
class PlatformReceiptsTest {
  @TempDir static Path data;
  static PlatformFixture p;
  static ReceiptVerifier verifier;

  @BeforeAll
  static void up() throws Exception {
    p = PlatformFixture.start(data);
    Collateral collateral = Collateral.load(data.resolve("attestation/collateral"));
    // The process backend's quotes are simulated: verified only because this test trusts its dev root.
    verifier = ReceiptVerifier.of(
        QuoteVerifier.trusting(collateral.trustedRoot().orElseThrow(), Clock.systemUTC()), collateral);
  }

  @AfterAll
  static void down() {
    if (p != null) {
      p.close();
    }
  }

  /** The TD's evidence, once it covers the receipt's RTMR3 log (the pool re-attests after each load). */
  static TdEvidence evidenceCovering(String tdId, String receipt) {
    long needed = Receipt.parse(receipt).claims().rtmr3LogLength();
    TdEvidence[] latest = new TdEvidence[1];
    p.await("evidence of " + tdId + " covering " + needed + " RTMR3 log entries", Duration.ofSeconds(30),
        () -> {
          HttpResponse<String> r = anonymous("/v1/tds/" + tdId + "/evidence");
          assertEquals(200, r.statusCode(), r.body());
          latest[0] = TdEvidence.parse(r.body().getBytes(StandardCharsets.UTF_8));
          return latest[0].rtmr3Log().size() >= needed;
        });
    return latest[0];
  }

  static HttpResponse<String> anonymous(String path) {
    return p.send(HttpRequest.newBuilder(p.url.resolve(path)).timeout(Duration.ofSeconds(90)).GET().build());
  }

  @Test
  void theSamplesReceiptVerifiesAgainstItsTdsEvidence() {
    String event = "receipts";
    HttpResponse<String> r = p.invokeAnonymously("hello", event);
    assertEquals(200, r.statusCode(), r.body());
    String receipt = r.headers().firstValue("ConFaaS-Receipt")
        .orElseThrow(() -> new AssertionError("no ConFaaS-Receipt header: " + r.headers().map()));
    String td = PlatformFixture.tdOf(r);
    TdEvidence evidence = evidenceCovering(td, receipt);

    ReceiptVerifier.Result ok = verifier.verify(receipt, evidence,
        event.getBytes(StandardCharsets.UTF_8), r.body().getBytes(StandardCharsets.UTF_8));
    assertTrue(ok.verified(), ok.toString());
    assertTrue(ok.line(ReceiptVerifier.Check.QUOTE).orElseThrow().message().contains("--trust-dev-root"),
        "the verdict must say the quote is simulated: " + ok);
    Receipt.Claims c = Receipt.parse(receipt).claims();
    assertEquals(PlatformFixture.imageOf(r), c.imageId());
    assertEquals(td, c.tdId());

    ReceiptVerifier.Result altered = verifier.verify(receipt, evidence,
        event.getBytes(StandardCharsets.UTF_8), "Hello, mallory!".getBytes(StandardCharsets.UTF_8));
    assertFalse(altered.verified());
    assertEquals(ReceiptVerifier.Outcome.FAIL,
        altered.line(ReceiptVerifier.Check.RESPONSE_HASH).orElseThrow().outcome(), altered.toString());

    // Another TD's evidence: its key did not sign this receipt.
    String other = p.tds().stream().map(t -> t.getString("id"))
        .filter(id -> !id.equals(td) && anonymous("/v1/tds/" + id + "/evidence").statusCode() == 200)
        .findFirst().orElseThrow(() -> new AssertionError("the pool should hold a second TD"));
    TdEvidence otherEvidence = TdEvidence.parse(
        anonymous("/v1/tds/" + other + "/evidence").body().getBytes(StandardCharsets.UTF_8));
    ReceiptVerifier.Result wrongTd = verifier.verify(receipt, otherEvidence, null, null);
    assertFalse(wrongTd.verified(), wrongTd.toString());
    assertEquals(ReceiptVerifier.Outcome.FAIL,
        wrongTd.line(ReceiptVerifier.Check.SIGNATURE).orElseThrow().outcome(), wrongTd.toString());
  }

  @Test
  void functionEvidenceListsTheTdsWithAWarmInstanceAndUnknownOnesAre404() {
    HttpResponse<String> r = p.invokeOk("hello", "warm");
    String td = PlatformFixture.tdOf(r);
    HttpResponse<String> e = anonymous("/v1/functions/hello/evidence");
    assertEquals(200, e.statusCode(), e.body());
    JsonObject doc = new JsonObject(e.body());
    assertEquals(PlatformFixture.imageOf(r), doc.getString("imageId"));
    JsonArray list = doc.getJsonArray("evidence");
    assertTrue(list.stream().map(JsonObject.class::cast).anyMatch(x -> x.getString("td_id").equals(td)),
        "the TD that just ran it should be listed: " + e.body());
    for (Object o : list) {
      TdEvidence parsed = TdEvidence.parse(((JsonObject) o).encode().getBytes(StandardCharsets.UTF_8));
      assertEquals(32, parsed.sealingPublicKey().length, "each lists its sealing key");
    }

    assertEquals(404, anonymous("/v1/functions/nope/evidence").statusCode());
    assertEquals(404, anonymous("/v1/tds/process-nope-1/evidence").statusCode());
  }

  @Test
  void aSealedRequestRelayedToAnotherTdIsRefusedByThatTdsAgent() {
    HttpResponse<String> e = p.send(p.request("/v1/functions/hello/evidence?prepare=true").GET().build());
    assertEquals(200, e.statusCode(), e.body());
    JsonObject doc = new JsonObject(e.body());
    TdEvidence sealedTo = TdEvidence.parse(
        doc.getJsonArray("evidence").getJsonObject(0).encode().getBytes(StandardCharsets.UTF_8));
    byte[] request = SealedMessages.seal(sealedTo.sealingPublicKey(), doc.getString("imageId"),
        sealedTo.tdId(), "for one TD only".getBytes(StandardCharsets.UTF_8)).encapsulated();
    String other = p.tds().stream().map(t -> t.getString("id"))
        .filter(id -> !id.equals(sealedTo.tdId()) && anonymous("/v1/tds/" + id + "/evidence").statusCode() == 200)
        .findFirst().orElseThrow(() -> new AssertionError("the pool should hold a second TD"));

    // The host relays it to another TD (which loads the function for it): that TD's agent refuses.
    HttpResponse<String> refused = sealedInvoke(request, other);
    assertEquals(403, refused.statusCode(), refused.body());
    JsonObject problem = new JsonObject(refused.body());
    assertEquals("SEALED_REQUEST_REFUSED", problem.getString("reason"), refused.body());
    assertFalse(refused.body().contains("for one TD only"), "the problem must not echo the event");

    // The same bytes to the TD they were sealed to run: the refusal was the TD's, not the request's.
    HttpResponse<String> ok = sealedInvoke(request, sealedTo.tdId());
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals(sealedTo.tdId(), PlatformFixture.tdOf(ok));
  }

  private static HttpResponse<String> sealedInvoke(byte[] request, String td) {
    return p.send(HttpRequest.newBuilder(p.url.resolve("/v1/functions/hello/invoke"))
        .timeout(Duration.ofSeconds(90))
        .header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", td)
        .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build());
  }

  @Test
  void theAsyncStatusCarriesAReceiptThatVerifies() {
    HttpResponse<String> accepted = p.post("/v1/functions/hello/invoke-async", "later");
    assertEquals(202, accepted.statusCode(), accepted.body());
    String id = new JsonObject(accepted.body()).getString("invocationId");
    JsonObject[] status = new JsonObject[1];
    p.await("invocation " + id + " to finish", Duration.ofSeconds(60), () -> {
      status[0] = new JsonObject(p.get("/v1/invocations/" + id).body());
      return status[0].getString("state").equals("SUCCEEDED");
    });
    String receipt = status[0].getString("receipt");
    assertTrue(receipt != null && !receipt.isEmpty(), "no receipt in " + status[0].encode());
    ReceiptVerifier.Result ok = verifier.verify(receipt, evidenceCovering(status[0].getString("tdId"), receipt),
        "later".getBytes(StandardCharsets.UTF_8),
        status[0].getString("result").getBytes(StandardCharsets.UTF_8));
    assertTrue(ok.verified(), ok.toString());
  }
}
