package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's "done when" for the CLI, against the whole platform (real agent processes, simulated
 * TDX): {@code confaas verify} checks the receipt of a plain invocation saved with {@code curl -D}
 * and refuses altered ones naming the check; {@code confaas invoke --sealed} seals the event to a
 * verified TD, opens the answer and verifies the receipt; and a sealed request sent to another
 * function than it was sealed for is refused by the agent.
 */
class ReceiptsCliTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Platform platform;
  static String url;
  static String token;
  static Path collateral;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void up() throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "1", "pool.max", "3",
        "pool.bootsInFlight", "1", "pool.healthInterval", "5s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
    url = platform.gatewayUrl().toString();
    token = platform.adminToken();
    collateral = data.resolve("attestation/collateral");
    assertTrue(Files.isRegularFile(data.resolve("attestation/dev-root.pem")),
        "up should write the dev root next to the collateral");
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  static HttpResponse<byte[]> send(HttpRequest r) throws Exception {
    return HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(120));
  }

  /** {@code curl -D headers.txt -o response.bin --data-binary @event.txt URL/v1/functions/hello/invoke}. */
  static HttpResponse<byte[]> curlInvoke(String event, Path headers, Path response) throws Exception {
    HttpResponse<byte[]> r = send(request("/v1/functions/hello/invoke")
        .POST(HttpRequest.BodyPublishers.ofString(event)).build());
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    StringBuilder dump = new StringBuilder("HTTP/1.1 200 OK\r\n");
    r.headers().map().forEach((k, vs) -> vs.forEach(v -> dump.append(k).append(": ").append(v).append("\r\n")));
    Files.writeString(headers, dump.append("\r\n"));
    Files.write(response, r.body());
    return r;
  }

  /** {@code curl -o FILE URL/v1/tds/TD/evidence}, once the evidence covers the receipt's RTMR3 log. */
  static Path evidence(String td, String receipt, Path file) throws Exception {
    int needed = Receipt.parse(receipt).claims().rtmr3LogLength();
    for (int i = 0; i < 150; i++) {
      HttpResponse<byte[]> r = send(request("/v1/tds/" + td + "/evidence").GET().build());
      assertEquals(200, r.statusCode());
      if (TdEvidence.parse(r.body()).rtmr3Log().size() >= needed) {
        Files.write(file, r.body());
        return file;
      }
      Thread.sleep(200);
    }
    fail("the evidence of " + td + " never covered " + needed + " RTMR3 log entries");
    return null;
  }

  @Test
  void verifyChecksAReceiptSavedWithCurlAndRefusesAlteredOnes() throws Exception {
    Path event = Files.writeString(work.resolve("event.txt"), "verifier");
    Path headers = work.resolve("headers.txt");
    Path response = work.resolve("response.bin");
    HttpResponse<byte[]> r = curlInvoke("verifier", headers, response);
    String receipt = r.headers().firstValue("ConFaaS-Receipt").orElseThrow();
    String td = r.headers().firstValue("X-Confaas-Td-Id").orElseThrow();
    Path ev = evidence(td, receipt, work.resolve("evidence.json"));

    CliRun ok = CliRun.of("verify", headers.toString(), "--evidence", ev.toString(),
        "--request", event.toString(), "--response", response.toString(),
        "--collateral", collateral.toString(), "--trust-dev-root");
    assertEquals(0, ok.code, ok.toString());
    for (String check : List.of("QUOTE", "KEY_BINDING", "RTMR3_LOG", "SIGNATURE", "TD_ID",
        "RECEIPT_RTMR3", "IMAGES", "REQUEST_HASH", "RESPONSE_HASH")) {
      assertTrue(ok.out.lines().anyMatch(l -> l.startsWith("PASS") && l.contains(check)),
          check + " should pass:\n" + ok);
    }
    assertTrue(ok.out.contains("--trust-dev-root") && ok.out.contains("receipt VERIFIED"), ok.toString());

    // The receipt as a string, a response that is not the one signed for.
    Path other = Files.writeString(work.resolve("other.bin"), "Hello, mallory!");
    CliRun altered = CliRun.of("verify", receipt, "--evidence", ev.toString(),
        "--response", other.toString(), "--collateral", collateral.toString(), "--trust-dev-root");
    assertEquals(1, altered.code, altered.toString());
    assertTrue(altered.out.lines().anyMatch(l -> l.startsWith("FAIL") && l.contains("RESPONSE_HASH")),
        altered.toString());
    assertTrue(altered.out.contains("receipt REFUSED: RESPONSE_HASH failed"), altered.toString());

    // A tampered signature.
    char last = receipt.charAt(receipt.length() - 2);
    String tampered = receipt.substring(0, receipt.length() - 2) + (last == 'A' ? 'B' : 'A')
        + receipt.charAt(receipt.length() - 1);
    CliRun forged = CliRun.of("verify", tampered, "--evidence", ev.toString(),
        "--collateral", collateral.toString(), "--trust-dev-root");
    assertEquals(1, forged.code, forged.toString());
    assertTrue(forged.out.lines().anyMatch(l -> l.startsWith("FAIL") && l.contains("SIGNATURE")),
        forged.toString());

    // Without trusting the dev root, the simulated quote proves nothing, and the verdict says so.
    CliRun intel = CliRun.of("verify", headers.toString(), "--evidence", ev.toString(),
        "--collateral", collateral.toString());
    assertEquals(1, intel.code, intel.toString());
    assertTrue(intel.out.lines().anyMatch(l -> l.startsWith("FAIL") && l.contains("QUOTE")), intel.toString());
  }

  @Test
  void invokeSealedVerifiesTheTdSealsOpensAndVerifiesTheReceipt() {
    CliRun sealed = CliRun.of("invoke", "hello", "--sealed", "--data", "secret-7f3a", "--url", url,
        "--token", token, "--collateral", collateral.toString(), "--trust-dev-root");
    assertEquals(0, sealed.code, sealed.toString());
    assertTrue(sealed.out.startsWith("Hello, secret-7f3a!"), sealed.toString());
    assertTrue(sealed.err.contains("sealed invocation VERIFIED"), sealed.toString());
    assertTrue(sealed.err.lines().anyMatch(l -> l.startsWith("PASS") && l.contains("PLAINTEXTS")),
        sealed.toString());
    assertTrue(sealed.err.lines().anyMatch(l -> l.startsWith("PASS") && l.contains("KEY_BINDING")),
        "the evidence is verified before sealing: " + sealed);
  }

  @Test
  void aSealedRequestSentToAnotherFunctionIsRefusedByTheAgent() throws Exception {
    Path handler = work.resolve("shout.sh");
    Files.writeString(handler, "#!/bin/sh\nprintf '%s!' \"$(cat | tr a-z A-Z)\"\n");
    CliRun deploy = CliRun.of("deploy", "--name", "shout", "--runtime", "shell",
        "--handler", handler.toString(), "--url", url, "--token", token,
        "--data-dir", work.resolve("author").toString());
    assertEquals(0, deploy.code, deploy.toString());

    HttpResponse<byte[]> e = send(request("/v1/functions/hello/evidence?prepare=true")
        .header("Authorization", "Bearer " + token).GET().build());
    assertEquals(200, e.statusCode(), new String(e.body(), StandardCharsets.UTF_8));
    JsonObject doc = new JsonObject(new String(e.body(), StandardCharsets.UTF_8));
    TdEvidence ev = TdEvidence.parse(
        doc.getJsonArray("evidence").getJsonObject(0).encode().getBytes(StandardCharsets.UTF_8));
    byte[] forHello = SealedMessages.seal(ev.sealingPublicKey(), doc.getString("imageId"), ev.tdId(),
        "for hello only".getBytes(StandardCharsets.UTF_8)).encapsulated();

    HttpResponse<byte[]> r = send(request("/v1/functions/shout/invoke")
        .header("Content-Type", "message/ohttp-req").header("ConFaaS-TD", ev.tdId())
        .POST(HttpRequest.BodyPublishers.ofByteArray(forHello)).build());
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertEquals(403, r.statusCode(), body);
    assertEquals("SEALED_REQUEST_REFUSED", new JsonObject(body).getString("reason"), body);
    assertTrue(!body.contains("for hello only"), "the problem must not echo the event: " + body);
  }
}
