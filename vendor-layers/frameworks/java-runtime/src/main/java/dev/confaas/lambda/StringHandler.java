package dev.confaas.lambda;

import java.nio.charset.StandardCharsets;

/**
 * A {@link Handler} for text: the event is decoded and the response encoded as UTF-8 (malformed
 * input bytes become U+FFFD, so use {@link Handler} for binary payloads).
 */
@FunctionalInterface
public interface StringHandler extends Handler {
  /** Handles one event as text; {@code null} is sent as an empty response. */
  String handleText(String event, Context context) throws Exception;

  @Override
  default byte[] handle(byte[] event, Context context) throws Exception {
    String out = handleText(new String(event, StandardCharsets.UTF_8), context);
    return out == null ? null : out.getBytes(StandardCharsets.UTF_8);
  }
}
