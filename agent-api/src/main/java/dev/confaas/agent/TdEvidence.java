package dev.confaas.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.agent.v1.MeasurementLog;
import dev.confaas.agent.v1.ReportResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a caller needs to check a TD offline (docs/receipts.md, "Evidence"): one quote with the nonce
 * it binds, the RTMR3 log, the TD's identity and sealing public keys, and optionally the reference
 * values the operator appraised it against. It holds nothing secret. Built from an agent's Report
 * ({@link #fromReport}) and carried as JSON ({@link #toJson}, {@link #parse}).
 *
 * @param tdId the TD's ID
 * @param backend {@code process}, {@code qemu} or {@code qemu-tdx}
 * @param nonce the nonce the quote's REPORTDATA binds
 * @param quote the TD quote
 * @param rtmr3Log RTMR3 log lines (ACON format) as returned with the quote
 * @param identityPublicKey SubjectPublicKeyInfo DER of the identity key (P-384)
 * @param sealingPublicKey the HPKE public key ({@link SealingSuite}, 32 bytes)
 * @param referenceValues the operator's reference values by name ({@code mrtd}, {@code rtmr0},
 *     {@code rtmr1}, {@code rtmr2}), each a list of allowed lowercase hex values; empty when not
 *     given. They are the host's claim: a verifier should prefer its own.
 */
public record TdEvidence(
    String tdId,
    String backend,
    byte[] nonce,
    byte[] quote,
    List<String> rtmr3Log,
    byte[] identityPublicKey,
    byte[] sealingPublicKey,
    Map<String, List<String>> referenceValues) {
  public static final int VERSION = 1;
  /** Names {@link #referenceValues} may use. */
  public static final List<String> REFERENCE_NAMES = List.of("mrtd", "rtmr0", "rtmr1", "rtmr2");
  private static final ObjectMapper JSON = new ObjectMapper();

  public TdEvidence {
    Objects.requireNonNull(tdId, "tdId");
    Objects.requireNonNull(backend, "backend");
    nonce = nonce.clone();
    quote = quote.clone();
    rtmr3Log = List.copyOf(rtmr3Log);
    identityPublicKey = identityPublicKey.clone();
    sealingPublicKey = sealingPublicKey.clone();
    Map<String, List<String>> refs = new LinkedHashMap<>();
    referenceValues.forEach(
        (k, v) -> {
          if (!REFERENCE_NAMES.contains(k)) {
            throw new IllegalArgumentException(
                "reference value \"" + k + "\" is not one of " + REFERENCE_NAMES);
          }
          refs.put(k, List.copyOf(v));
        });
    referenceValues = java.util.Collections.unmodifiableMap(refs);
  }

  /** Evidence from an agent's Report reply to {@code nonce}. */
  public static TdEvidence fromReport(
      String tdId, String backend, byte[] nonce, ReportResponse report, Map<String, List<String>> referenceValues) {
    return new TdEvidence(
        tdId,
        backend,
        nonce,
        report.getQuote().toByteArray(),
        report.getRtmrLogsOrDefault(3, MeasurementLog.getDefaultInstance()).getEntriesList(),
        report.getIdentityPublicKey().toByteArray(),
        report.getSealingPublicKey().toByteArray(),
        referenceValues);
  }

  /** The evidence as the JSON document docs/receipts.md describes. */
  public byte[] toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("version", VERSION);
    o.put("td_id", tdId);
    o.put("backend", backend);
    o.put("nonce", Receipt.b64(nonce));
    o.put("quote", Receipt.b64(quote));
    ArrayNode log = o.putArray("rtmr3_log");
    rtmr3Log.forEach(log::add);
    o.put("identity_public_key", Receipt.b64(identityPublicKey));
    try {
      o.set("identity_jwk", Receipt.jwk(Receipt.ecPublicKey(identityPublicKey)));
    } catch (IllegalArgumentException notP384) {
      // Still carried as DER; a verifier reports the wrong key type.
    }
    o.put("sealing_public_key", Receipt.b64(sealingPublicKey));
    ObjectNode suite = o.putObject("sealing_suite");
    suite.put("kem_id", SealingSuite.KEM_ID);
    suite.put("kdf_id", SealingSuite.KDF_ID);
    suite.put("aead_id", SealingSuite.AEAD_ID);
    if (!referenceValues.isEmpty()) {
      ObjectNode refs = o.putObject("reference_values");
      for (String name : REFERENCE_NAMES) {
        List<String> values = referenceValues.get(name);
        if (values != null) {
          ArrayNode a = refs.putArray(name);
          values.forEach(a::add);
        }
      }
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Parses evidence JSON.
   *
   * @throws IllegalArgumentException naming the missing or malformed member
   */
  public static TdEvidence parse(byte[] json) {
    JsonNode o;
    try {
      o = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("the evidence is not JSON: " + e.getMessage(), e);
    }
    if (o == null || !o.isObject()) {
      throw new IllegalArgumentException("the evidence is not a JSON object");
    }
    if (o.path("version").asInt() != VERSION) {
      throw new IllegalArgumentException(
          "the evidence's version is " + o.path("version") + "; this verifier reads version " + VERSION);
    }
    List<String> log = new ArrayList<>();
    JsonNode l = o.get("rtmr3_log");
    if (l == null || !l.isArray()) {
      throw new IllegalArgumentException("the evidence has no \"rtmr3_log\" array");
    }
    l.forEach(n -> log.add(n.asText()));
    Map<String, List<String>> refs = new LinkedHashMap<>();
    JsonNode r = o.get("reference_values");
    if (r != null && r.isObject()) {
      r.fields()
          .forEachRemaining(
              e -> {
                List<String> values = new ArrayList<>();
                e.getValue().forEach(n -> values.add(n.asText()));
                refs.put(e.getKey(), values);
              });
    }
    return new TdEvidence(
        text(o, "td_id"),
        text(o, "backend"),
        bytes(o, "nonce"),
        bytes(o, "quote"),
        log,
        bytes(o, "identity_public_key"),
        bytes(o, "sealing_public_key"),
        refs);
  }

  private static String text(JsonNode o, String name) {
    JsonNode n = o.get(name);
    if (n == null || !n.isTextual()) {
      throw new IllegalArgumentException("the evidence has no \"" + name + "\" string");
    }
    return n.asText();
  }

  private static byte[] bytes(JsonNode o, String name) {
    String t = text(o, name);
    try {
      return Receipt.decode(t, "evidence " + name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the evidence's \"" + name + "\" is not base64url");
    }
  }
}
