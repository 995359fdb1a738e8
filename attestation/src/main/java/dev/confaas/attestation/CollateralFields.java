package dev.confaas.attestation;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/** Required-field accessors for collateral JSON whose errors name the field. */
final class CollateralFields {
  private CollateralFields() {}

  static String text(JsonNode n, String field, String what) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException(what + " lacks string field \"" + field + "\"");
    }
    return v.asText();
  }

  static int integer(JsonNode n, String field, String what) {
    JsonNode v = n.get(field);
    if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new IllegalArgumentException(what + " lacks integer field \"" + field + "\"");
    }
    return v.asInt();
  }

  static Instant instant(JsonNode n, String field, String what) {
    String s = text(n, field, what);
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          what + " \"" + field + "\" is not an ISO-8601 instant: " + s, e);
    }
  }

  static int[] svns(JsonNode arr, String what) {
    if (!arr.isArray() || arr.size() != 16) {
      throw new IllegalArgumentException(what + " must be an array of 16 components");
    }
    int[] out = new int[16];
    for (int i = 0; i < 16; i++) {
      out[i] = integer(arr.get(i), "svn", what + "[" + i + "]");
    }
    return out;
  }

  static List<String> strings(JsonNode arr) {
    List<String> out = new ArrayList<>();
    arr.forEach(v -> out.add(v.asText()));
    return List.copyOf(out);
  }
}
