package dev.confaas.attestation;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;

/**
 * A PCS collateral response body {@code {"<field>":{...},"signature":"<hex r||s>"}}. Intel signs
 * the exact bytes of the inner value as they appear in the body, so they are cut out of the body by
 * the parser's byte offsets rather than re-serialized (key order and spacing would change them).
 */
record SignedJson(byte[] body, byte[] signedBytes, byte[] signature, JsonNode value) {
  static final ObjectMapper MAPPER = new ObjectMapper();

  static SignedJson parse(byte[] body, String field, String what) {
    int start = -1;
    int end = -1;
    String signatureHex = null;
    try (JsonParser p = MAPPER.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException(what + " is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (name.equals(field) && t == JsonToken.START_OBJECT) {
          start = (int) p.currentTokenLocation().getByteOffset();
          p.skipChildren();
          end = (int) p.currentTokenLocation().getByteOffset() + 1;
        } else if (name.equals("signature") && t == JsonToken.VALUE_STRING) {
          signatureHex = p.getText();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not valid JSON: " + e.getMessage(), e);
    }
    if (start < 0) {
      throw new IllegalArgumentException(what + " has no \"" + field + "\" object");
    }
    if (signatureHex == null) {
      throw new IllegalArgumentException(what + " has no \"signature\" string");
    }
    byte[] signature = CollateralHex.parse(signatureHex, what + " signature");
    if (signature.length != 64) {
      throw new IllegalArgumentException(
          what + " signature must be 64 bytes (P-256 r||s), is " + signature.length);
    }
    byte[] signed = Arrays.copyOfRange(body, start, end);
    try {
      return new SignedJson(body, signed, signature, MAPPER.readTree(signed));
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " \"" + field + "\" is not valid JSON", e);
    }
  }
}
