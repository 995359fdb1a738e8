package dev.confaas.gateway;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Base64;

/**
 * Lambda's {@code X-Amz-Client-Context} request header (Invoke API: up to 3583 bytes of base64 of a
 * JSON object about the calling client), turned into what the function sees as {@code
 * Lambda-Runtime-Client-Context}: that JSON object, re-encoded on one line so it fits in a header.
 */
final class ClientContextHeader {
  static final String NAME = "X-Amz-Client-Context";
  /** The Invoke API's limit on the encoded header. */
  static final int MAX_ENCODED_BYTES = 3583;

  private ClientContextHeader() {}

  /**
   * The client context as one-line JSON, or empty when the header is absent.
   *
   * @throws IllegalArgumentException saying what is wrong with the header and how to send it
   */
  static String decode(String header) {
    if (header == null || header.isBlank()) {
      return "";
    }
    String value = header.strip();
    if (value.length() > MAX_ENCODED_BYTES) {
      throw new IllegalArgumentException(NAME + " is " + value.length() + " bytes; at most "
          + MAX_ENCODED_BYTES + " are allowed (as AWS Lambda's Invoke API)");
    }
    byte[] raw;
    try {
      raw = Base64.getDecoder().decode(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(NAME + " is not base64 (" + e.getMessage()
          + "); send the client context JSON base64-encoded, e.g. $(printf '%s' '{\"custom\":{}}' | base64 -w0)");
    }
    String json;
    try {
      json = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(NAME + " decodes to bytes that are not UTF-8; it must be"
          + " base64 of a JSON object");
    }
    try {
      return new JsonObject(json).encode();
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException(NAME + " decodes to something that is not a JSON object;"
          + " it must be base64 of a JSON object such as {\"custom\":{\"key\":\"value\"}}");
    }
  }
}
