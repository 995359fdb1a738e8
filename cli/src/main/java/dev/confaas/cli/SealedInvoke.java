package dev.confaas.cli;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code confaas invoke NAME --sealed}: the caller's whole side of a sealed invocation
 * (docs/sealed-invocations.md), trusting nothing the host says without checking it. Fetches the
 * evidence of a TD serving the function, verifies it (quote, key binding, RTMR3 log), seals the
 * event to that TD's sealing key for the function's image, sends it, opens the sealed response, and
 * verifies the receipt — including the plaintext MACs only the caller can check. With {@code
 * --async} it submits to {@code invoke-async} and polls the status, whose result is the sealed
 * response; the HPKE context lives only in this process, so only this run can open it.
 */
final class SealedInvoke {
  private final GatewayClient client;
  private final ReceiptTrust.Options trust;
  private final PrintWriter err;

  SealedInvoke(GatewayClient client, ReceiptTrust.Options trust, PrintWriter err) {
    this.client = client;
    this.trust = trust;
    this.err = err;
  }

  /** The outcome: the opened plaintext, whether the function failed, and the receipt's verdict. */
  record Outcome(byte[] plaintext, String functionError, boolean verified) {}

  /**
   * @param async submit to {@code invoke-async} and poll the status for the sealed result, instead
   *     of waiting on the synchronous answer
   */
  Outcome invoke(String name, String version, String tdId, byte[] event, Long timeoutMs, boolean async) {
    String q = (version == null ? "" : "&version=" + URLEncoder.encode(version, StandardCharsets.UTF_8));
    String fn = URLEncoder.encode(name, StandardCharsets.UTF_8);
    GatewayClient.Response er = GatewayClient.check(
        client.get("/v1/functions/" + fn + "/evidence?prepare=true" + q), "evidence of " + name);
    JsonObject doc = new JsonObject(er.text());
    String imageId = doc.getString("imageId");
    JsonArray list = doc.getJsonArray("evidence", new JsonArray());
    JsonObject pick = null;
    for (Object o : list) {
      JsonObject e = (JsonObject) o;
      if (tdId == null || tdId.equals(e.getString("td_id"))) {
        pick = e;
        break;
      }
    }
    if (pick == null) {
      throw new Main.CliException(tdId == null
          ? "the gateway lists no TD with a warm instance of " + name + " to seal to; try again"
          : "TD " + tdId + " holds no warm instance of " + name + "; leave out --td to use one that does");
    }
    TdEvidence evidence = TdEvidence.parse(pick.encode().getBytes(StandardCharsets.UTF_8));
    trustDevRootIfSimulated(evidence);
    ReceiptVerifier verifier = trust.verifier(evidence, Clock.systemUTC());
    ReceiptVerifier.Result ev = verifier.verifyEvidence(evidence);
    err.println("evidence of TD " + evidence.tdId() + " (" + evidence.backend() + ")");
    ev.lines().forEach(err::println);
    if (!ev.verified()) {
      err.flush();
      throw new Main.CliException("the evidence of TD " + evidence.tdId() + " did not verify ("
          + String.join(", ", ev.failures().stream().map(l -> l.check().name()).toList())
          + "); nothing was sent");
    }

    SealedMessages.ClientRequest sealed =
        SealedMessages.seal(evidence.sealingPublicKey(), imageId, evidence.tdId(), event);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "message/ohttp-req");
    headers.put("ConFaaS-TD", evidence.tdId());
    if (timeoutMs != null) {
      headers.put("X-Confaas-Timeout-Ms", Long.toString(timeoutMs));
    }
    byte[] request = sealed.encapsulated();
    String vq = version == null ? "" : "?version=" + URLEncoder.encode(version, StandardCharsets.UTF_8);
    Answer answer;
    if (async) {
      GatewayClient.Response r = GatewayClient.check(
          client.post("/v1/functions/" + fn + "/invoke-async" + vq, request, headers), "sealed invoke-async " + name);
      answer = awaitAsync(new JsonObject(r.text()).getString("invocationId"), timeoutMs);
    } else {
      GatewayClient.Response r = GatewayClient.check(
          client.post("/v1/functions/" + fn + "/invoke" + vq, request, headers), "sealed invoke " + name);
      answer = new Answer(r.body(), r.header(VerifyCommand.HEADER), r.header("X-Confaas-Function-Error"));
    }
    byte[] plaintext;
    try {
      plaintext = sealed.openResponse(answer.sealedResponse());
    } catch (SealedMessages.SealedMessageException e) {
      throw new Main.CliException("the response did not open: " + e.getMessage()
          + " (the host altered it, or it is not the TD's answer)");
    }

    String receipt = answer.receipt();
    boolean verified;
    if (receipt == null) {
      err.println("receipt: NONE — the gateway sent no " + (async ? "receipt in the status" : VerifyCommand.HEADER
          + " header"));
      verified = false;
    } else {
      TdEvidence current = evidenceCovering(evidence, receipt);
      ReceiptVerifier.Result rr = verifier.verify(receipt, current, request, answer.sealedResponse());
      Receipt.Claims c = Receipt.parse(receipt).claims();
      boolean macs = sealed.plaintextMac(event).equals(c.eventPlaintextMac())
          && sealed.plaintextMac(plaintext).equals(c.responsePlaintextMac());
      err.println("receipt of request " + c.requestId() + " (image " + c.imageId() + ", TD " + c.tdId() + ")");
      rr.lines().stream().filter(l -> l.check() != ReceiptVerifier.Check.PLAINTEXTS).forEach(err::println);
      err.println(new ReceiptVerifier.Line(ReceiptVerifier.Check.PLAINTEXTS,
          macs ? ReceiptVerifier.Outcome.PASS : ReceiptVerifier.Outcome.FAIL,
          macs ? "the TD's MACs of the event and the response are over exactly what you sent and read"
              : "the receipt's plaintext MACs do not match what you sent and read"));
      verified = rr.verified() && macs && c.sealed();
      err.println(verified
          ? "sealed invocation VERIFIED: only TD " + c.tdId() + " could read the event and the response;"
              + " the host relayed " + (async ? "and stored " : "") + "ciphertext"
          : "sealed invocation NOT VERIFIED");
    }
    err.flush();
    return new Outcome(plaintext, answer.functionError(), verified);
  }

  /** What the host relayed back: the TD's encapsulated response, its receipt, a function error's kind. */
  private record Answer(byte[] sealedResponse, String receipt, String functionError) {}

  /**
   * Polls the async status until the invocation ends; its result is the TD's encapsulated response.
   * An invocation that ended without one (its TD gone, refused) is an error naming the reason.
   */
  private Answer awaitAsync(String id, Long timeoutMs) {
    err.println("queued as invocation " + id + "; waiting for its sealed result");
    err.flush();
    long waitMs = (timeoutMs != null ? timeoutMs : 900_000L) + 60_000L;
    long deadline = System.nanoTime() + waitMs * 1_000_000L;
    long pause = 100;
    while (true) {
      GatewayClient.Response r = client.get("/v1/invocations/" + id);
      if (r.ok()) {
        JsonObject st = new JsonObject(r.text());
        String state = st.getString("state");
        if (state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("REJECTED")) {
          JsonObject error = st.getJsonObject("error", new JsonObject());
          String result = st.getString("result");
          if (result == null) {
            String reason = error.getString("reason", error.getString("kind", state));
            throw new Main.CliException("sealed invocation " + id + " ended " + state + " (" + reason + "): "
                + error.getString("message", error.getString("errorMessage", "no detail"))
                + (reason.equals("TD_GONE") || reason.equals("TD_LOST")
                    ? "; it can run only in the TD it was sealed to: invoke again to seal to a TD in service" : ""));
          }
          if (!st.getBoolean("sealed", false)) {
            throw new Main.CliException("the status of invocation " + id + " is not sealed; the host did not"
                + " treat it as a sealed invocation");
          }
          return new Answer(Base64.getDecoder().decode(result), st.getString("receipt"),
              state.equals("FAILED") ? error.getString("kind", "FAILED") : null);
        }
      } else if (r.status() != 503) {
        GatewayClient.check(r, "status of invocation " + id);
      }
      if (System.nanoTime() > deadline) {
        throw new Main.CliException("sealed invocation " + id + " did not finish within " + waitMs / 1000
            + " s; its status is at GET /v1/invocations/" + id + " (only this run could open its result)");
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Main.CliException("interrupted waiting for invocation " + id);
      }
      pause = Math.min(2_000, pause * 2);
    }
  }

  /**
   * Simulated TDX (process, qemu) verifies only against the dev root; without --collateral or --pcs,
   * trust the one {@code confaas up} wrote, and say so.
   */
  private void trustDevRootIfSimulated(TdEvidence evidence) {
    if (trust.trustDevRoot || trust.pcs || trust.collateral != null || evidence.backend().equals("qemu-tdx")) {
      return;
    }
    java.nio.file.Path root = GatewayEndpoint.dataDir(System.getenv()).resolve("attestation/dev-root.pem");
    if (Files.isRegularFile(root)) {
      trust.trustDevRoot = true;
      err.println("backend " + evidence.backend() + " is simulated TDX: trusting the dev root " + root
          + " (as --trust-dev-root); this proves nothing about hardware");
    }
  }

  /** The TD's evidence, fetched again when the receipt is newer (it loaded an image since). */
  private TdEvidence evidenceCovering(TdEvidence evidence, String receipt) {
    int needed;
    try {
      needed = Receipt.parse(receipt).claims().rtmr3LogLength();
    } catch (IllegalArgumentException e) {
      return evidence;
    }
    for (int i = 0; i < 50 && evidence.rtmr3Log().size() < needed; i++) {
      GatewayClient.Response r = client.get("/v1/tds/" + evidence.tdId() + "/evidence");
      if (r.ok()) {
        TdEvidence fresh = TdEvidence.parse(r.body());
        if (fresh.rtmr3Log().size() >= needed) {
          return fresh;
        }
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return evidence;
  }
}
