package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.TdEvidence;
import dev.confaas.platform.Platform;
import dev.confaas.platform.Settings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The second-language client of issue 12, {@code examples/node-sealed-client} (Node.js, node:crypto
 * only), against the whole platform (real agent processes, simulated TDX): it fetches evidence,
 * checks the key binding, seals, sends, opens the answer and checks the receipt; the files it saves
 * then pass {@code confaas verify}, which checks the quote it leaves to DCAP. Its offline receipt
 * checker refuses altered receipts and another TD's evidence, naming the check. Skipped, saying so,
 * only when {@code node} is not on the PATH.
 */
class NodeSealedClientTest {
  @TempDir static Path data;
  @TempDir static Path work;
  static Path client;
  static Platform platform;
  static String url;
  static String token;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  /** stdout, stderr and exit code of one {@code node} run. */
  record NodeRun(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  @BeforeAll
  static void up() throws Exception {
    assumeTrue(nodeOnPath(), "node is not on the PATH: the Node.js example client"
        + " (examples/node-sealed-client) is not tested on this machine");
    client = examples().resolve("node-sealed-client");
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    Map<String, String> flags = Map.of(
        "gateway.port", "0", "kafka.port", "0", "pool.size", "2", "pool.max", "4",
        "pool.healthInterval", "5s", "pool.drainTimeout", "10s");
    platform = Platform.start(
        Settings.load(data, Map.of(), flags), line -> System.out.println("[platform] " + line));
    url = platform.gatewayUrl().toString();
    token = platform.adminToken();
  }

  @AfterAll
  static void down() {
    if (platform != null) {
      platform.close();
    }
  }

  private static boolean nodeOnPath() {
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The repository's {@code examples/} directory, from the module's working directory upward. */
  private static Path examples() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("examples/node-sealed-client"))) {
        return d.resolve("examples");
      }
    }
    throw new IllegalStateException("no examples/node-sealed-client above " + Path.of("").toAbsolutePath());
  }

  static NodeRun node(String script, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("node", client.resolve(script).toString()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(work, "node", ".out");
    Path err = Files.createTempFile(work, "node", ".err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(3, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("node " + script + " did not finish within 3 minutes:\n" + Files.readString(err));
    }
    return new NodeRun(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static boolean passes(String output, String check) {
    return output.lines().anyMatch(l -> l.startsWith("PASS") && l.contains(" " + check + " "));
  }

  private static boolean fails(String output, String check) {
    return output.lines().anyMatch(l -> l.startsWith("FAIL") && l.contains(" " + check + " "));
  }

  @Test
  void itSealsSendsOpensAndChecksTheReceiptAndConfaasVerifyAcceptsWhatItSaved() throws Exception {
    Path saved = work.resolve("sealed-call");
    NodeRun run = node("sealed-invoke.mjs", "--url", url, "--function", "hello",
        "--data", "node-secret-42", "--token", token, "--save", saved.toString());
    assertEquals(0, run.code(), run.toString());
    assertTrue(run.out().startsWith("Hello, node-secret-42!"), "the decrypted answer:\n" + run);
    for (String check : List.of("KEY_BINDING", "RTMR3_LOG", "SIGNATURE", "TD_ID", "RECEIPT_RTMR3", "IMAGES",
        "IMAGE_ID", "REQUEST_HASH", "RESPONSE_HASH", "PLAINTEXTS")) {
      assertTrue(passes(run.err(), check), check + " should pass:\n" + run);
    }
    assertTrue(run.err().contains("sealed invocation VERIFIED"), run.toString());
    assertTrue(run.err().lines().anyMatch(l -> l.startsWith("NOT_CHECKED") && l.contains("QUOTE")),
        "the client must say it leaves the quote unchecked:\n" + run);
    String request = Files.readString(saved.resolve("request.bin"), StandardCharsets.ISO_8859_1);
    assertTrue(!request.contains("node-secret-42"), "the request it sent is not sealed");

    // What the Node client leaves to DCAP, confaas verify checks on the files it saved.
    CliRun verify = CliRun.of("verify", saved.resolve("receipt.jws").toString(),
        "--evidence", saved.resolve("evidence.json").toString(),
        "--request", saved.resolve("request.bin").toString(),
        "--response", saved.resolve("response.bin").toString(),
        "--collateral", data.resolve("attestation/collateral").toString(), "--trust-dev-root");
    assertEquals(0, verify.code, verify.toString());
    assertTrue(passes(verify.out, "QUOTE") && verify.out.contains("receipt VERIFIED"), verify.toString());
  }

  @Test
  void itsReceiptCheckRefusesAlteredReceiptsAndAnotherTdsEvidenceNamingTheCheck() throws Exception {
    Path saved = work.resolve("plain-call");
    Files.createDirectories(saved);
    HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/functions/hello/invoke"))
        .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString("plain")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    String receipt = r.headers().firstValue("ConFaaS-Receipt").orElseThrow();
    String td = r.headers().firstValue("X-Confaas-Td-Id").orElseThrow();
    Path receiptFile = Files.writeString(saved.resolve("receipt.jws"), receipt);
    Path request = Files.writeString(saved.resolve("request.bin"), "plain");
    Path response = Files.write(saved.resolve("response.bin"), r.body());
    Path evidence = evidenceCovering(td, receipt, saved.resolve("evidence.json"));

    NodeRun ok = node("verify-receipt.mjs", "--receipt", receiptFile.toString(), "--evidence", evidence.toString(),
        "--request", request.toString(), "--response", response.toString());
    assertEquals(0, ok.code(), ok.toString());

    // The signature: one byte of S changed.
    String[] parts = receipt.split("\\.");
    byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
    sig[90] ^= 1;
    Path badSig = Files.writeString(saved.resolve("bad-signature.jws"),
        parts[0] + "." + parts[1] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(sig));
    NodeRun forged = node("verify-receipt.mjs", "--receipt", badSig.toString(), "--evidence", evidence.toString());
    assertEquals(1, forged.code(), forged.toString());
    assertTrue(fails(forged.out(), "SIGNATURE") && forged.out().contains("does not verify"), forged.toString());

    // A response that is not the one the TD signed for.
    Path other = Files.writeString(saved.resolve("other.bin"), "Hello, mallory!");
    NodeRun wrong = node("verify-receipt.mjs", "--receipt", receiptFile.toString(), "--evidence", evidence.toString(),
        "--response", other.toString());
    assertEquals(1, wrong.code(), wrong.toString());
    assertTrue(fails(wrong.out(), "RESPONSE_HASH"), wrong.toString());

    // Another TD's evidence: its key did not sign this receipt.
    String otherTd = otherTd(td);
    Path otherEvidence = Files.write(saved.resolve("other-evidence.json"),
        HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/tds/" + otherTd + "/evidence")).build(),
            HttpResponse.BodyHandlers.ofByteArray()).body());
    NodeRun elsewhere = node("verify-receipt.mjs", "--receipt", receiptFile.toString(),
        "--evidence", otherEvidence.toString());
    assertEquals(1, elsewhere.code(), elsewhere.toString());
    assertTrue(fails(elsewhere.out(), "SIGNATURE") && elsewhere.out().contains("comes from another TD"),
        elsewhere.toString());
    assertTrue(fails(elsewhere.out(), "TD_ID"), elsewhere.toString());
  }

  /** {@code curl -o FILE URL/v1/tds/TD/evidence}, once the evidence covers the receipt's RTMR3 log. */
  private static Path evidenceCovering(String td, String receipt, Path file) throws Exception {
    int needed = Receipt.parse(receipt).claims().rtmr3LogLength();
    for (int i = 0; i < 150; i++) {
      HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/tds/" + td + "/evidence"))
          .build(), HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, r.statusCode());
      if (TdEvidence.parse(r.body()).rtmr3Log().size() >= needed) {
        return Files.write(file, r.body());
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the evidence of " + td + " never covered " + needed + " RTMR3 log entries");
  }

  /** A TD in service other than {@code td}: the pool keeps two. */
  private static String otherTd(String td) throws Exception {
    for (int i = 0; i < 300; i++) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/tds"))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
      Object parsed = io.vertx.core.json.Json.decodeValue(r.body());
      JsonArray tds = parsed instanceof JsonArray a ? a : ((JsonObject) parsed).getJsonArray("tds");
      for (Object o : tds) {
        String id = ((JsonObject) o).getString("id");
        if (!id.equals(td) && HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/tds/" + id + "/evidence"))
            .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return id;
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the pool never held a second TD in service");
  }
}
