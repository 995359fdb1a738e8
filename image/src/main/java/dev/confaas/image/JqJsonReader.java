package dev.confaas.image;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 JSON reader that keeps exactly what {@code jq} 1.6 would see, so that {@link
 * CanonicalJson} can print it the way {@code jq -jcS .} does.
 *
 * <p>Values are: {@link Map} (insertion ordered, {@code String} keys), {@link List}, {@link
 * String}, {@link Number} (a {@link Num} holding the literal and jq's double), {@link Boolean} and
 * {@link #NULL}.
 *
 * <p>Strings are decoded the way jq 1.6 decodes them ({@code jv_parse.c found_string}, then {@code
 * jvp_utf8_next}): escapes are expanded to UTF-8 bytes (a lone low surrogate escape becomes the
 * three bytes of the surrogate), then every ill-formed UTF-8 sequence is replaced by U+FFFD. A lone
 * <em>high</em> surrogate escape is an error in jq, and here too.
 *
 * <p>Where jq 1.6 is lenient beyond RFC 8259 (leading zeros, {@code +1}, {@code .5}, {@code NaN},
 * {@code infinity}, a byte-order mark, raw U+001F or NUL in strings, several top-level values),
 * this reader rejects the input with a message giving the byte offset, rather than guessing.
 */
final class JqJsonReader {
  /** JSON {@code null}. */
  static final Object NULL =
      new Object() {
        @Override
        public String toString() {
          return "null";
        }
      };

  /** More nested arrays and objects than this are refused, as jq 1.6 refuses them. */
  static final int MAX_DEPTH = 256;

  /** A JSON number: the literal as written and the double jq computes from it. */
  static final class Num extends Number {
    private static final long serialVersionUID = 1L;
    final String literal;
    final double value;

    Num(String literal, double value) {
      this.literal = literal;
      this.value = value;
    }

    @Override
    public int intValue() {
      return (int) value;
    }

    @Override
    public long longValue() {
      return (long) value;
    }

    @Override
    public float floatValue() {
      return (float) value;
    }

    @Override
    public double doubleValue() {
      return value;
    }

    @Override
    public String toString() {
      return literal;
    }
  }

  /** Malformed JSON; the message names the byte offset and what was expected. */
  static final class SyntaxException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    SyntaxException(String message) {
      super(message);
    }
  }

  private final byte[] in;
  private final boolean rejectDuplicateKeys;
  private int pos;

  private JqJsonReader(byte[] in, boolean rejectDuplicateKeys) {
    this.in = in;
    this.rejectDuplicateKeys = rejectDuplicateKeys;
  }

  /**
   * Parses exactly one JSON value (surrounded by optional whitespace). With {@code
   * rejectDuplicateKeys} false a repeated key keeps its last value, as jq does.
   */
  static Object parse(byte[] json, boolean rejectDuplicateKeys) {
    JqJsonReader p = new JqJsonReader(json, rejectDuplicateKeys);
    p.skipWs();
    if (p.pos == json.length) {
      throw new SyntaxException("empty input: expected a JSON value");
    }
    Object v = p.value(0);
    p.skipWs();
    if (p.pos != json.length) {
      throw p.error("unexpected data after the JSON value (only one value is allowed)");
    }
    return v;
  }

  private SyntaxException error(String what) {
    return new SyntaxException("invalid JSON at byte " + pos + ": " + what);
  }

  private void skipWs() {
    while (pos < in.length) {
      byte b = in[pos];
      if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
        pos++;
      } else {
        return;
      }
    }
  }

  private Object value(int depth) {
    if (pos >= in.length) {
      throw error("unexpected end of input, expected a value");
    }
    byte b = in[pos];
    if ((b == '{' || b == '[') && depth >= MAX_DEPTH) {
      throw error("more than " + MAX_DEPTH + " nested arrays and objects (jq's limit)");
    }
    switch (b) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        literal("true");
        return Boolean.TRUE;
      case 'f':
        literal("false");
        return Boolean.FALSE;
      case 'n':
        literal("null");
        return NULL;
      default:
        if (b == '-' || (b >= '0' && b <= '9')) {
          return number();
        }
        throw error("unexpected character " + describe(b) + ", expected a value");
    }
  }

  private static String describe(byte b) {
    int c = b & 0xff;
    return c >= 0x21 && c < 0x7f ? "'" + (char) c + "'" : String.format("0x%02x", c);
  }

  private void literal(String word) {
    for (int i = 0; i < word.length(); i++) {
      if (pos + i >= in.length || in[pos + i] != word.charAt(i)) {
        throw error("invalid literal, expected '" + word + "'");
      }
    }
    pos += word.length();
  }

  private Map<String, Object> object(int depth) {
    pos++; // '{'
    Map<String, Object> map = new LinkedHashMap<>();
    skipWs();
    if (pos < in.length && in[pos] == '}') {
      pos++;
      return map;
    }
    while (true) {
      skipWs();
      if (pos >= in.length || in[pos] != '"') {
        throw error("expected a string key");
      }
      int keyAt = pos;
      String key = string();
      skipWs();
      if (pos >= in.length || in[pos] != ':') {
        throw error("expected ':' after key");
      }
      pos++;
      skipWs();
      Object v = value(depth + 1);
      if (map.containsKey(key)) {
        if (rejectDuplicateKeys) {
          throw new SyntaxException(
              "invalid JSON at byte " + keyAt + ": duplicate key \"" + key + "\"");
        }
        map.remove(key); // jq keeps the last value
      }
      map.put(key, v);
      skipWs();
      if (pos < in.length && in[pos] == ',') {
        pos++;
        continue;
      }
      if (pos < in.length && in[pos] == '}') {
        pos++;
        return map;
      }
      throw error("expected ',' or '}' in object");
    }
  }

  private List<Object> array(int depth) {
    pos++; // '['
    List<Object> list = new ArrayList<>();
    skipWs();
    if (pos < in.length && in[pos] == ']') {
      pos++;
      return list;
    }
    while (true) {
      skipWs();
      list.add(value(depth + 1));
      skipWs();
      if (pos < in.length && in[pos] == ',') {
        pos++;
        continue;
      }
      if (pos < in.length && in[pos] == ']') {
        pos++;
        return list;
      }
      throw error("expected ',' or ']' in array");
    }
  }

  private Num number() {
    int start = pos;
    if (in[pos] == '-') {
      pos++;
    }
    if (pos >= in.length || !digit(in[pos])) {
      throw error("invalid number: expected a digit");
    }
    if (in[pos] == '0') {
      pos++;
      if (pos < in.length && digit(in[pos])) {
        throw error("invalid number: leading zeros are not allowed");
      }
    } else {
      while (pos < in.length && digit(in[pos])) {
        pos++;
      }
    }
    if (pos < in.length && in[pos] == '.') {
      pos++;
      if (pos >= in.length || !digit(in[pos])) {
        throw error("invalid number: expected a digit after '.'");
      }
      while (pos < in.length && digit(in[pos])) {
        pos++;
      }
    }
    if (pos < in.length && (in[pos] == 'e' || in[pos] == 'E')) {
      pos++;
      if (pos < in.length && (in[pos] == '+' || in[pos] == '-')) {
        pos++;
      }
      if (pos >= in.length || !digit(in[pos])) {
        throw error("invalid number: expected a digit in the exponent");
      }
      while (pos < in.length && digit(in[pos])) {
        pos++;
      }
    }
    String literal = new String(in, start, pos - start, StandardCharsets.US_ASCII);
    // Double.parseDouble rounds correctly, as jq's strtod does; overflow gives infinity.
    return new Num(literal, Double.parseDouble(literal));
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  private String string() {
    int start = pos;
    pos++; // opening quote
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    while (true) {
      if (pos >= in.length) {
        pos = start;
        throw error("unterminated string");
      }
      int c = in[pos] & 0xff;
      if (c == '"') {
        pos++;
        break;
      }
      if (c < 0x20) {
        throw error(String.format("control character U+%04X in a string must be escaped", c));
      }
      if (c != '\\') {
        raw.write(c);
        pos++;
        continue;
      }
      pos++;
      if (pos >= in.length) {
        throw error("unterminated escape");
      }
      int e = in[pos++] & 0xff;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          raw.write(e);
          break;
        case 'b':
          raw.write('\b');
          break;
        case 'f':
          raw.write('\f');
          break;
        case 'n':
          raw.write('\n');
          break;
        case 'r':
          raw.write('\r');
          break;
        case 't':
          raw.write('\t');
          break;
        case 'u':
          {
            int cp = hex4();
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (pos + 1 >= in.length || in[pos] != '\\' || in[pos + 1] != 'u') {
                throw error("invalid \\uXXXX\\uXXXX surrogate pair escape: lone high surrogate");
              }
              pos += 2;
              int low = hex4();
              if (low < 0xDC00 || low > 0xDFFF) {
                throw error(
                    "invalid \\uXXXX\\uXXXX surrogate pair escape: expected a low surrogate");
              }
              cp = 0x10000 + (((cp - 0xD800) << 10) | (low - 0xDC00));
            }
            // A lone low surrogate is encoded as its three bytes and later replaced by U+FFFD,
            // exactly as jq does.
            encodeUtf8(cp, raw);
            break;
          }
        default:
          pos--;
          throw error("invalid escape '\\" + (char) e + "'");
      }
    }
    return decodeLikeJq(raw.toByteArray());
  }

  private int hex4() {
    if (pos + 4 > in.length) {
      throw error("invalid \\uXXXX escape");
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(in[pos + i] & 0xff, 16);
      if (d < 0) {
        throw error("invalid \\uXXXX escape");
      }
      v = v * 16 + d;
    }
    pos += 4;
    return v;
  }

  private static void encodeUtf8(int cp, ByteArrayOutputStream out) {
    if (cp < 0x80) {
      out.write(cp);
    } else if (cp < 0x800) {
      out.write(0xC0 | (cp >> 6));
      out.write(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out.write(0xE0 | (cp >> 12));
      out.write(0x80 | ((cp >> 6) & 0x3F));
      out.write(0x80 | (cp & 0x3F));
    } else {
      out.write(0xF0 | (cp >> 18));
      out.write(0x80 | ((cp >> 12) & 0x3F));
      out.write(0x80 | ((cp >> 6) & 0x3F));
      out.write(0x80 | (cp & 0x3F));
    }
  }

  /**
   * Decodes UTF-8 the way jq 1.6's {@code jvp_utf8_next} does: each ill-formed sequence (as jq
   * delimits it) becomes one U+FFFD.
   */
  static String decodeLikeJq(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length);
    int i = 0;
    while (i < b.length) {
      int first = b[i] & 0xff;
      int length;
      int cp = -1;
      if (first < 0x80) {
        cp = first;
        length = 1;
      } else {
        int want = codingLength(first);
        if (want <= 1) {
          length = 1; // invalid lead byte or stray continuation byte
        } else if (i + want > b.length) {
          length = b.length - i; // the string ends inside the sequence
        } else {
          length = want;
          cp = first & (0xFF >> (want + 1));
          for (int k = 1; k < want; k++) {
            int ch = b[i + k] & 0xff;
            if ((ch & 0xC0) != 0x80) {
              cp = -1;
              length = k;
              break;
            }
            cp = (cp << 6) | (ch & 0x3F);
          }
          if (cp >= 0) {
            int min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
            if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
              cp = -1;
            }
          }
        }
      }
      sb.appendCodePoint(cp < 0 ? 0xFFFD : cp);
      i += length;
    }
    return sb.toString();
  }

  /** jq's utf8_coding_length: 1 for a stray continuation byte or an invalid lead byte. */
  private static int codingLength(int lead) {
    if (lead >= 0xC2 && lead <= 0xDF) {
      return 2;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
      return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
      return 4;
    }
    return 1;
  }
}
