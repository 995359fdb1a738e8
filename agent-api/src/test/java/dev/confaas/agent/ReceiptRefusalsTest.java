package dev.confaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.agent.ReceiptVerifier.Check;
import dev.confaas.agent.ReceiptVerifier.Outcome;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's refusals, on any machine: {@link ReceiptVerifier} refuses a receipt whose signature,
 * response hash, image ID or RTMR3 was altered, and a receipt checked against another TD's
 * evidence, each with a line naming the check that failed. Two TDs are modelled the way an agent
 * makes its evidence and receipts — a simulated TDX module under one dev PKI whose RTMR3 is
 * extended with each log line, an identity key, a sealing key, REPORTDATA binding both — without
 * agent processes or function isolation (function-runtime's ReceiptTest does the same against real
 * agents where the host allows namespaces).
 */
class ReceiptRefusalsTest {
  private static final String VENDOR = "sha384/" + "a1".repeat(48) + "/" + "b2".repeat(48);
  private static final String FUNCTION = "sha384/" + "c3".repeat(48) + "/" + "d4".repeat(48);
  private static final byte[] EVENT = "an event".getBytes(StandardCharsets.UTF_8);
  private static final byte[] RESPONSE = "AN EVENT".getBytes(StandardCharsets.UTF_8);

  private static SimulatedPki pki;
  private static ReceiptVerifier verifier;
  private static Td a;
  private static Td b;

  /** What a TD's agent holds for receipts: keys, measured log, and its TDX module. */
  private record Td(String id, SimulatedTdxModule tdx, TlsIdentity identity, byte[] sealing, RtmrLog log) {
    static Td boot(String id, List<String> images) throws Exception {
      SimulatedTdxModule tdx = new SimulatedTdxModule(pki, "confaas-agent".getBytes(StandardCharsets.US_ASCII));
      RtmrLog log = RtmrLog.empty();
      for (String image : images) {
        log = log.appendManifest(image);
      }
      for (String line : log.lines()) {
        tdx.extendRtmr(3, MessageDigest.getInstance("SHA-384").digest(line.getBytes(StandardCharsets.US_ASCII)));
      }
      byte[] sealing = SealingSuite.hpke().serializePublicKey(SealingSuite.hpke().generatePrivateKey().getPublic());
      return new Td(id, tdx, TlsIdentity.generate("confaas-td-agent", Clock.systemUTC()), sealing, log);
    }

    TdEvidence evidence() {
      byte[] nonce = new byte[32];
      new SecureRandom().nextBytes(nonce);
      byte[] spki = identity.publicKey().getEncoded();
      return new TdEvidence(id, "process", nonce, tdx.getQuote(ReportDataBinding.of(spki, sealing, nonce)),
          log.lines(), spki, sealing, Map.of());
    }

    String receipt(byte[] event, byte[] response) {
      List<String> images = log.lines().stream()
          .filter(l -> l.startsWith(RtmrLog.ADD_MANIFEST_PREFIX))
          .map(l -> l.substring(RtmrLog.ADD_MANIFEST_PREFIX.length()))
          .toList();
      return Receipt.sign(
          new Receipt.Claims("req-1", "shout", "$LATEST", FUNCTION, id, Receipt.sha256(event),
              Receipt.sha256(response), null, log.valueHex(), log.size(), images,
              Instant.now().getEpochSecond()),
          identity.publicKey(), identity::signEs384);
    }
  }

  @BeforeAll
  static void boot() throws Exception {
    pki = SimulatedPki.generate(Instant.now());
    Collateral collateral = pki.collateral(Clock.systemUTC(), Duration.ofDays(30));
    verifier = ReceiptVerifier.of(QuoteVerifier.trusting(pki.rootCertificate(), Clock.systemUTC()), collateral);
    a = Td.boot("td-a", List.of(VENDOR, FUNCTION));
    b = Td.boot("td-b", List.of(VENDOR, FUNCTION));
  }

  private static String b64(byte[] b) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The receipt with its payload edited, header and signature kept. */
  private static String withPayload(String receipt, UnaryOperator<String> edit) {
    String[] parts = receipt.split("\\.");
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    String edited = edit.apply(payload);
    assertNotEquals(payload, edited, "the edit changed nothing");
    return parts[0] + "." + b64(edited.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
  }

  private static void assertRefused(ReceiptVerifier.Result r, Check check, String inMessage) {
    assertFalse(r.verified(), "accepted:\n" + r);
    ReceiptVerifier.Line line = r.line(check).orElseThrow(() -> new AssertionError("no " + check + " line:\n" + r));
    assertEquals(Outcome.FAIL, line.outcome(), r.toString());
    assertTrue(line.message().contains(inMessage), line.message());
  }

  @Test
  void theGenuineReceiptVerifiesAgainstItsTdsEvidence() {
    ReceiptVerifier.Result r = verifier.verify(a.receipt(EVENT, RESPONSE), a.evidence(), EVENT, RESPONSE);
    assertTrue(r.verified(), r.toString());
    assertEquals(Outcome.PASS, r.line(Check.KEY_BINDING).orElseThrow().outcome(), r.toString());
  }

  @Test
  void anAlteredSignatureIsRefused() {
    String[] parts = a.receipt(EVENT, RESPONSE).split("\\.");
    byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
    sig[60] ^= 0x40;
    assertRefused(verifier.verify(parts[0] + "." + parts[1] + "." + b64(sig), a.evidence(), EVENT, RESPONSE),
        Check.SIGNATURE, "does not verify");
  }

  @Test
  void anAlteredResponseHashIsRefusedByTheSignatureAndByTheResponse() {
    String receipt = a.receipt(EVENT, RESPONSE);
    String forged = withPayload(receipt, p -> p.replace(Receipt.sha256(RESPONSE), Receipt.sha256(EVENT)));
    ReceiptVerifier.Result r = verifier.verify(forged, a.evidence(), EVENT, RESPONSE);
    assertRefused(r, Check.SIGNATURE, "does not verify");
    assertRefused(r, Check.RESPONSE_HASH, "hashes to");
  }

  @Test
  void anAlteredImageIdIsRefusedByTheSignatureAndTheMeasuredLog() {
    String other = FUNCTION.substring(0, FUNCTION.length() - 1) + "5";
    String forged = withPayload(a.receipt(EVENT, RESPONSE), p -> p.replace("\"image_id\":\"" + FUNCTION,
        "\"image_id\":\"" + other));
    ReceiptVerifier.Result r = verifier.verify(forged, a.evidence(), EVENT, RESPONSE);
    assertRefused(r, Check.SIGNATURE, "does not verify");
    assertRefused(r, Check.IMAGES, "was not loaded");
  }

  @Test
  void anAlteredRtmr3IsRefusedByTheSignatureAndTheReplay() {
    String rtmr3 = a.log().valueHex();
    String other = (rtmr3.charAt(0) == '0' ? "1" : "0") + rtmr3.substring(1);
    ReceiptVerifier.Result r = verifier.verify(withPayload(a.receipt(EVENT, RESPONSE), p -> p.replace(rtmr3, other)),
        a.evidence(), EVENT, RESPONSE);
    assertRefused(r, Check.SIGNATURE, "does not verify");
    assertRefused(r, Check.RECEIPT_RTMR3, "is not the replay");
  }

  @Test
  void aReceiptFromOneTdDoesNotVerifyAgainstAnotherTdsEvidence() {
    // Same images, same log, same quote layout: only the identity key tells the TDs apart.
    ReceiptVerifier.Result r = verifier.verify(b.receipt(EVENT, RESPONSE), a.evidence(), EVENT, RESPONSE);
    assertRefused(r, Check.SIGNATURE, "comes from another TD");
    assertRefused(r, Check.TD_ID, "names TD td-b but the evidence is TD td-a");
    assertEquals(Outcome.PASS, r.line(Check.RECEIPT_RTMR3).orElseThrow().outcome(),
        "the RTMR3 matches, the TDs loaded the same images; the key is what refuses it:\n" + r);
  }

  @Test
  void aReceiptReSignedByAnotherKeyUnderTheRightTdIdIsRefused() {
    // A host that alters a receipt and signs it again with a key of its own, naming td-a.
    TlsIdentity host = TlsIdentity.generate("host", Clock.systemUTC());
    Receipt genuine = Receipt.parse(a.receipt(EVENT, RESPONSE));
    Receipt.Claims c = genuine.claims();
    String forged = Receipt.sign(
        new Receipt.Claims(c.requestId(), c.functionName(), c.functionVersion(), c.imageId(), c.tdId(),
            c.eventSha256(), Receipt.sha256("HOST'S ANSWER".getBytes(StandardCharsets.UTF_8)), null,
            c.rtmr3(), c.rtmr3LogLength(), c.images(), c.issuedAt()),
        host.publicKey(), host::signEs384);
    ReceiptVerifier.Result r = verifier.verify(forged, a.evidence(), null, "HOST'S ANSWER".getBytes(StandardCharsets.UTF_8));
    assertRefused(r, Check.SIGNATURE, "comes from another TD");
    assertEquals(Outcome.PASS, r.line(Check.TD_ID).orElseThrow().outcome(), r.toString());
  }
}
