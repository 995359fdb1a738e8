package dev.confaas.lambda;

import java.util.ArrayList;
import java.util.List;

/** The Runtime API's error document: {@code {"errorMessage","errorType","stackTrace"}}. */
record ErrorReport(String errorType, String errorMessage, List<String> stackTrace) {
  private static final int MAX_FRAMES = 50;

  ErrorReport {
    stackTrace = List.copyOf(stackTrace);
  }

  /** A handler's exception: its class name is the error type, as in AWS runtimes. */
  static ErrorReport of(Throwable t) {
    return of(t.getClass().getName(), String.valueOf(t.getMessage()), t);
  }

  static ErrorReport of(String type, String message, Throwable t) {
    List<String> frames = new ArrayList<>();
    for (Throwable x = t; x != null && frames.size() < MAX_FRAMES; x = x.getCause()) {
      if (x != t) {
        frames.add("Caused by: " + x);
      }
      for (StackTraceElement e : x.getStackTrace()) {
        if (frames.size() >= MAX_FRAMES) {
          break;
        }
        frames.add(e.toString());
      }
    }
    return new ErrorReport(type, message, frames);
  }

  String toJson() {
    StringBuilder b = new StringBuilder("{\"errorMessage\":");
    quote(b, errorMessage);
    b.append(",\"errorType\":");
    quote(b, errorType);
    b.append(",\"stackTrace\":[");
    for (int i = 0; i < stackTrace.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      quote(b, stackTrace.get(i));
    }
    return b.append("]}").toString();
  }

  /** A JSON string literal (RFC 8259 section 7). */
  static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || Character.isSurrogate(c) && !validSurrogate(s, i)) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  private static boolean validSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }
}
