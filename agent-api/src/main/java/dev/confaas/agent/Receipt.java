package dev.confaas.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * A TD's receipt for one invocation (docs/receipts.md): a compact JWS (RFC 7515) signed with ES384
 * by the agent's attested identity key. The agent makes one with {@link #sign}; anyone parses one
 * with {@link #parse} and checks it with {@link ReceiptVerifier}. What is signed is the JWS signing
 * input, {@code BASE64URL(header) "." BASE64URL(payload)}, exactly as it travels: no JSON
 * canonicalisation is needed, and any JOSE library can check the signature.
 */
public final class Receipt {
  public static final String ALG = "ES384";
  public static final String TYPE = "confaas-receipt+jwt";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64_DECODE = Base64.getUrlDecoder();
  /** A generous bound: a receipt names every image in its TD, and a TD holds few. */
  public static final int MAX_LENGTH = 64 * 1024;

  /**
   * The receipt's payload. JSON names in brackets.
   *
   * @param requestId [request_id] the Lambda request ID the function saw
   * @param functionName [function_name] the function name the instance was given (the host's
   *     label; {@code AWS_LAMBDA_FUNCTION_NAME}); null when the agent was not told one
   * @param functionVersion [function_version] likewise {@code AWS_LAMBDA_FUNCTION_VERSION}; may be
   *     null
   * @param imageId [image_id] the image that handled the event
   * @param tdId [td_id] the TD's ID (a host-chosen label; the key in {@code kid} is its identity)
   * @param eventSha256 [event_sha256] base64url SHA-256 of the event bytes the function received
   * @param responseSha256 [response_sha256] base64url SHA-256 of the response bytes the function
   *     posted; null when it failed
   * @param error [error] the failure kind ({@code HANDLED}, {@code CRASHED}, {@code TIMED_OUT},
   *     {@code INIT_FAILED}, {@code RESPONSE_TOO_LARGE}) when the function failed; else null
   * @param rtmr3 [rtmr3] RTMR3 (lowercase hex, 96 digits) when the response was signed
   * @param rtmr3LogLength [rtmr3_log_length] entries of the RTMR3 log {@code rtmr3} replays
   * @param images [images] IDs of every image loaded in the TD then (the handler's included), in
   *     load order: what the function was co-resident with
   * @param issuedAt [iat] when the receipt was signed, seconds since the epoch (agent clock)
   * @param sealed [sealed] true for a sealed invocation ({@link SealedMessages}): then {@code
   *     event_sha256} and {@code response_sha256} are over the encapsulated request and response
   *     (the ciphertexts the host relayed), {@code response_sha256} is present even when the
   *     function failed (its error is sealed too), and the two MACs below are set; absent = false
   * @param eventPlaintextMac [event_plaintext_mac] for sealed invocations, base64url HMAC-SHA256 of
   *     the event plaintext under a key only the caller and the TD hold; else null
   * @param responsePlaintextMac [response_plaintext_mac] likewise of the response (or sealed
   *     error) plaintext; else null
   */
  public record Claims(
      String requestId,
      String functionName,
      String functionVersion,
      String imageId,
      String tdId,
      String eventSha256,
      String responseSha256,
      String error,
      String rtmr3,
      int rtmr3LogLength,
      List<String> images,
      long issuedAt,
      boolean sealed,
      String eventPlaintextMac,
      String responsePlaintextMac) {
    /** The claims of an invocation that was not sealed. */
    public Claims(
        String requestId,
        String functionName,
        String functionVersion,
        String imageId,
        String tdId,
        String eventSha256,
        String responseSha256,
        String error,
        String rtmr3,
        int rtmr3LogLength,
        List<String> images,
        long issuedAt) {
      this(
          requestId, functionName, functionVersion, imageId, tdId, eventSha256, responseSha256,
          error, rtmr3, rtmr3LogLength, images, issuedAt, false, null, null);
    }

    public Claims {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(imageId, "imageId");
      Objects.requireNonNull(tdId, "tdId");
      Objects.requireNonNull(eventSha256, "eventSha256");
      Objects.requireNonNull(rtmr3, "rtmr3");
      images = List.copyOf(images);
      if (sealed) {
        if (responseSha256 == null || eventPlaintextMac == null || responsePlaintextMac == null) {
          throw new IllegalArgumentException(
              "a sealed invocation's receipt has response_sha256, event_plaintext_mac and"
                  + " response_plaintext_mac");
        }
      } else if ((responseSha256 == null) == (error == null)) {
        throw new IllegalArgumentException("a receipt has exactly one of response_sha256 and error");
      }
    }

    ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("request_id", requestId);
      if (functionName != null) {
        o.put("function_name", functionName);
      }
      if (functionVersion != null) {
        o.put("function_version", functionVersion);
      }
      o.put("image_id", imageId);
      o.put("td_id", tdId);
      o.put("event_sha256", eventSha256);
      if (responseSha256 != null) {
        o.put("response_sha256", responseSha256);
      }
      if (error != null) {
        o.put("error", error);
      }
      if (sealed) {
        o.put("sealed", true);
        o.put("event_plaintext_mac", eventPlaintextMac);
        o.put("response_plaintext_mac", responsePlaintextMac);
      }
      o.put("rtmr3", rtmr3);
      o.put("rtmr3_log_length", rtmr3LogLength);
      ArrayNode a = o.putArray("images");
      images.forEach(a::add);
      o.put("iat", issuedAt);
      return o;
    }

    static Claims fromJson(JsonNode o) {
      List<String> images = new ArrayList<>();
      JsonNode a = o.get("images");
      if (a == null || !a.isArray()) {
        throw new IllegalArgumentException("the receipt's payload has no \"images\" array");
      }
      a.forEach(
          n -> {
            if (!n.isTextual()) {
              throw new IllegalArgumentException("\"images\" must hold strings (image IDs)");
            }
            images.add(n.asText());
          });
      JsonNode len = o.get("rtmr3_log_length");
      JsonNode iat = o.get("iat");
      if (len == null || !len.canConvertToInt() || len.asInt() < 0) {
        throw new IllegalArgumentException(
            "the receipt's payload has no \"rtmr3_log_length\" (a non-negative integer)");
      }
      if (iat == null || !iat.canConvertToLong()) {
        throw new IllegalArgumentException("the receipt's payload has no \"iat\" (seconds)");
      }
      return new Claims(
          text(o, "request_id", true),
          text(o, "function_name", false),
          text(o, "function_version", false),
          text(o, "image_id", true),
          text(o, "td_id", true),
          text(o, "event_sha256", true),
          text(o, "response_sha256", false),
          text(o, "error", false),
          text(o, "rtmr3", true),
          len.asInt(),
          images,
          iat.asLong(),
          o.path("sealed").asBoolean(false),
          text(o, "event_plaintext_mac", false),
          text(o, "response_plaintext_mac", false));
    }

    private static String text(JsonNode o, String name, boolean required) {
      JsonNode n = o.get(name);
      if (n == null || n.isNull()) {
        if (required) {
          throw new IllegalArgumentException("the receipt's payload has no \"" + name + "\"");
        }
        return null;
      }
      if (!n.isTextual()) {
        throw new IllegalArgumentException("\"" + name + "\" in the receipt's payload must be a string");
      }
      return n.asText();
    }
  }

  private final String compact;
  private final String keyId;
  private final Claims claims;
  private final byte[] signingInput;
  private final byte[] signature;

  private Receipt(String compact, String keyId, Claims claims, byte[] signingInput, byte[] signature) {
    this.compact = compact;
    this.keyId = keyId;
    this.claims = claims;
    this.signingInput = signingInput;
    this.signature = signature;
  }

  /**
   * Signs {@code claims} as a compact JWS.
   *
   * @param identity the signer's public key (P-384), whose RFC 7638 thumbprint becomes {@code kid}
   * @param es384 signs the JWS signing input, returning R ‖ S (e.g. {@link TlsIdentity#signEs384})
   */
  public static String sign(Claims claims, PublicKey identity, UnaryOperator<byte[]> es384) {
    ObjectNode header = JSON.createObjectNode();
    header.put("alg", ALG);
    header.put("typ", TYPE);
    header.put("kid", thumbprint(identity));
    String input = b64(bytes(header)) + "." + b64(bytes(claims.toJson()));
    byte[] sig = es384.apply(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + b64(sig);
  }

  /**
   * Parses a compact JWS receipt without checking its signature.
   *
   * @throws IllegalArgumentException saying what is malformed
   */
  public static Receipt parse(String compact) {
    String s = compact == null ? "" : compact.strip();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("the receipt is empty");
    }
    if (s.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "the receipt is " + s.length() + " characters; at most " + MAX_LENGTH + " are accepted");
    }
    String[] parts = s.split("\\.", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException(
          "a receipt is a compact JWS, three base64url parts joined by '.'; this has " + parts.length);
    }
    JsonNode header = json(decode(parts[0], "header"), "header");
    if (!ALG.equals(header.path("alg").asText())) {
      throw new IllegalArgumentException(
          "the receipt's alg is \"" + header.path("alg").asText() + "\"; receipts are " + ALG);
    }
    if (!TYPE.equals(header.path("typ").asText())) {
      throw new IllegalArgumentException(
          "the receipt's typ is \"" + header.path("typ").asText() + "\", not " + TYPE);
    }
    String kid = header.path("kid").asText();
    if (kid.isEmpty()) {
      throw new IllegalArgumentException("the receipt's header has no kid");
    }
    Claims claims = Claims.fromJson(json(decode(parts[1], "payload"), "payload"));
    byte[] signature = decode(parts[2], "signature");
    return new Receipt(
        s, kid, claims, (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII), signature);
  }

  /** True if the signature is a valid ES384 signature by {@code key} over the signing input. */
  public boolean signedBy(PublicKey key) {
    if (signature.length != 96) {
      return false;
    }
    try {
      Signature v = Signature.getInstance("SHA384withECDSAinP1363Format");
      v.initVerify(key);
      v.update(signingInput);
      return v.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  public String compact() {
    return compact;
  }

  /** The header's {@code kid}: the RFC 7638 thumbprint of the signing key. */
  public String keyId() {
    return keyId;
  }

  public Claims claims() {
    return claims;
  }

  /** The bytes the signature covers: {@code BASE64URL(header) "." BASE64URL(payload)}, ASCII. */
  public byte[] signingInput() {
    return signingInput.clone();
  }

  /** The signature, R ‖ S. */
  public byte[] signature() {
    return signature.clone();
  }

  /** Base64url (no padding) SHA-256 of {@code data}, as the receipt's hashes are written. */
  public static String sha256(byte[] data) {
    try {
      return b64(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /** The RFC 7638 JWK SHA-256 thumbprint of a P-384 key, base64url. */
  public static String thumbprint(PublicKey key) {
    try {
      return b64(MessageDigest.getInstance("SHA-256").digest(bytes(jwk(key))));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /**
   * The public JWK (RFC 7518 §6.2) of a P-384 key, members in the lexicographic order RFC 7638
   * hashes them in.
   */
  public static ObjectNode jwk(PublicKey key) {
    if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 384) {
      throw new IllegalArgumentException(
          "receipts are signed with an EC P-384 key; this key is " + key.getAlgorithm()
              + (key instanceof ECPublicKey e ? " on a " + e.getParams().getCurve().getField().getFieldSize() + "-bit curve" : ""));
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("crv", "P-384");
    o.put("kty", "EC");
    o.put("x", b64(fixed(ec.getW().getAffineX())));
    o.put("y", b64(fixed(ec.getW().getAffineY())));
    return o;
  }

  /** An X.509 SubjectPublicKeyInfo DER as an EC public key. */
  public static PublicKey ecPublicKey(byte[] spkiDer) {
    try {
      return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spkiDer));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "the identity key is not an EC SubjectPublicKeyInfo: " + e.getMessage(), e);
    }
  }

  private static byte[] fixed(BigInteger v) {
    byte[] b = v.toByteArray();
    if (b.length == 48) {
      return b;
    }
    byte[] out = new byte[48];
    int n = Math.min(b.length, 48);
    System.arraycopy(b, b.length - n, out, 48 - n, n);
    return out;
  }

  static String b64(byte[] b) {
    return B64.encodeToString(b);
  }

  static byte[] decode(String part, String what) {
    if (!part.matches("[A-Za-z0-9_-]*")) {
      throw new IllegalArgumentException("the receipt's " + what + " is not base64url (no padding)");
    }
    try {
      return B64_DECODE.decode(part);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the receipt's " + what + " is not base64url: " + e.getMessage());
    }
  }

  private static JsonNode json(byte[] b, String what) {
    try {
      JsonNode n = JSON.readTree(b);
      if (n == null || !n.isObject()) {
        throw new IllegalArgumentException("the receipt's " + what + " is not a JSON object");
      }
      return n;
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("the receipt's " + what + " is not JSON: " + e.getMessage());
    }
  }

  private static byte[] bytes(JsonNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "Receipt[kid=" + keyId + ", " + claims + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Receipt r && r.compact.equals(compact);
  }

  @Override
  public int hashCode() {
    return compact.hashCode();
  }
}
