package dev.confaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.TdxQuote;
import java.math.BigInteger;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.MessageDigest;
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
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * The example in docs/receipts.md (receipt, evidence, event, response and dev collateral written by
 * function-runtime's ReceiptTest from a real agent run) verifies — with {@link ReceiptVerifier}, and
 * step by step with nothing but the JDK, the way a verifier in another language would.
 */
class ReceiptExampleTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path example() throws URISyntaxException {
    return Path.of(ReceiptExampleTest.class.getResource("receipt-example/receipt.jws").toURI())
        .getParent();
  }

  @Test
  void theExampleVerifiesWhenTheDevRootIsTrusted() throws Exception {
    Path dir = example();
    String receipt = Files.readString(dir.resolve("receipt.jws")).strip();
    TdEvidence evidence = TdEvidence.parse(Files.readAllBytes(dir.resolve("evidence.json")));
    Collateral collateral = Collateral.load(dir.resolve("collateral"));
    // Verified as of when it was signed: the example's collateral and certificates stay as they were.
    Clock then =
        Clock.fixed(Instant.ofEpochSecond(Receipt.parse(receipt).claims().issuedAt()), ZoneOffset.UTC);
    ReceiptVerifier.Result r =
        ReceiptVerifier.of(QuoteVerifier.trusting(collateral.trustedRoot().orElseThrow(), then), collateral)
            .verify(
                receipt,
                evidence,
                Files.readAllBytes(dir.resolve("request.bin")),
                Files.readAllBytes(dir.resolve("response.bin")));
    assertTrue(r.verified(), r.toString());
    assertTrue(r.line(ReceiptVerifier.Check.QUOTE).orElseThrow().message().contains("--trust-dev-root"));

    // Pinned to Intel's root instead, the simulated quote proves nothing, and the verdict says so.
    ReceiptVerifier.Result intel =
        ReceiptVerifier.of(QuoteVerifier.intel(then), collateral).verify(receipt, evidence, null, null);
    assertFalse(intel.verified());
    assertEquals(
        ReceiptVerifier.Outcome.FAIL, intel.line(ReceiptVerifier.Check.QUOTE).orElseThrow().outcome());
  }

  /** docs/receipts.md "Verifying in another language", done with the JDK alone. */
  @Test
  void theDocumentedStepsVerifyItWithoutConFaaSCode() throws Exception {
    Path dir = example();
    String receipt = Files.readString(dir.resolve("receipt.jws")).strip();
    JsonNode evidence = JSON.readTree(dir.resolve("evidence.json").toFile());
    Base64.Decoder b64 = Base64.getUrlDecoder();

    // 1. The JWS: ES384 over "header.payload" with the key from identity_jwk.
    String[] parts = receipt.split("\\.");
    JsonNode header = JSON.readTree(b64.decode(parts[0]));
    assertEquals("ES384", header.get("alg").asText());
    assertEquals("confaas-receipt+jwt", header.get("typ").asText());
    JsonNode jwk = evidence.get("identity_jwk");
    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
    p.init(new ECGenParameterSpec("secp384r1"));
    PublicKey key =
        KeyFactory.getInstance("EC")
            .generatePublic(
                new ECPublicKeySpec(
                    new ECPoint(
                        new BigInteger(1, b64.decode(jwk.get("x").asText())),
                        new BigInteger(1, b64.decode(jwk.get("y").asText()))),
                    p.getParameterSpec(ECParameterSpec.class)));
    Signature es384 = Signature.getInstance("SHA384withECDSAinP1363Format");
    es384.initVerify(key);
    es384.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
    assertTrue(es384.verify(b64.decode(parts[2])), "the ES384 signature does not verify");
    // kid is the RFC 7638 thumbprint of that JWK.
    String canonical =
        "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"" + jwk.get("x").asText() + "\",\"y\":\""
            + jwk.get("y").asText() + "\"}";
    assertEquals(
        Base64.getUrlEncoder().withoutPadding().encodeToString(
            MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8))),
        header.get("kid").asText());

    // 2. REPORTDATA in the quote binds the two keys and the nonce.
    byte[] identity = b64.decode(evidence.get("identity_public_key").asText());
    byte[] sealing = b64.decode(evidence.get("sealing_public_key").asText());
    byte[] nonce = b64.decode(evidence.get("nonce").asText());
    MessageDigest sha384 = MessageDigest.getInstance("SHA-384");
    sha384.update("confaas-reportdata-v2".getBytes(StandardCharsets.US_ASCII));
    sha384.update(ByteBuffer.allocate(4).putInt(identity.length).array());
    sha384.update(identity);
    sha384.update(ByteBuffer.allocate(4).putInt(sealing.length).array());
    sha384.update(sealing);
    sha384.update(nonce);
    byte[] expected = Arrays.copyOf(sha384.digest(), 64);
    byte[] quote = b64.decode(evidence.get("quote").asText());
    assertArrayEquals(expected, TdxQuote.parse(quote).report().reportData());
    // (In a v4 quote REPORTDATA is bytes 568..632: 48-byte header, then offset 520 of the TD report.)
    assertArrayEquals(expected, Arrays.copyOfRange(quote, 48 + 520, 48 + 584));

    // 3. RTMR3: the receipt's value is the replay of the first rtmr3_log_length log lines.
    JsonNode claims = JSON.readTree(b64.decode(parts[1]));
    byte[] rtmr = new byte[48];
    JsonNode log = evidence.get("rtmr3_log");
    for (int i = 0; i < claims.get("rtmr3_log_length").asInt(); i++) {
      byte[] digest =
          MessageDigest.getInstance("SHA-384").digest(log.get(i).asText().getBytes(StandardCharsets.US_ASCII));
      MessageDigest md = MessageDigest.getInstance("SHA-384");
      md.update(rtmr);
      md.update(digest);
      rtmr = md.digest();
    }
    assertEquals(claims.get("rtmr3").asText(), java.util.HexFormat.of().formatHex(rtmr));

    // 4. The hashes.
    assertEquals(
        claims.get("response_sha256").asText(),
        Base64.getUrlEncoder().withoutPadding().encodeToString(
            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(dir.resolve("response.bin")))));
  }
}
