package dev.confaas.image;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Human-readable JSON for files people read and diff: keys sorted as in the canonical form,
 * two-space indentation, numbers as written, a trailing newline. Canonicalizing the output gives
 * the same bytes as canonicalizing the tree.
 */
final class PrettyJson {
  private PrettyJson() {}

  static byte[] write(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(value, out, 0);
    out.write('\n');
    return out.toByteArray();
  }

  private static void indent(ByteArrayOutputStream out, int level) {
    out.write('\n');
    for (int i = 0; i < level; i++) {
      out.write(' ');
      out.write(' ');
    }
  }

  private static void write(Object v, ByteArrayOutputStream out, int level) {
    if (v instanceof Map) {
      Map<?, ?> map = (Map<?, ?>) v;
      if (map.isEmpty()) {
        out.writeBytes("{}".getBytes(StandardCharsets.US_ASCII));
        return;
      }
      List<String> keys = new ArrayList<>();
      for (Object k : map.keySet()) {
        keys.add((String) k);
      }
      keys.sort(
          (a, b) ->
              Arrays.compareUnsigned(
                  a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
      out.write('{');
      for (int i = 0; i < keys.size(); i++) {
        indent(out, level + 1);
        CanonicalJson.writeString(keys.get(i), out);
        out.writeBytes(": ".getBytes(StandardCharsets.US_ASCII));
        write(map.get(keys.get(i)), out, level + 1);
        if (i + 1 < keys.size()) {
          out.write(',');
        }
      }
      indent(out, level);
      out.write('}');
    } else if (v instanceof List) {
      List<?> list = (List<?>) v;
      if (list.isEmpty()) {
        out.writeBytes("[]".getBytes(StandardCharsets.US_ASCII));
        return;
      }
      out.write('[');
      for (int i = 0; i < list.size(); i++) {
        indent(out, level + 1);
        write(list.get(i), out, level + 1);
        if (i + 1 < list.size()) {
          out.write(',');
        }
      }
      indent(out, level);
      out.write(']');
    } else if (v instanceof JqJsonReader.Num) {
      out.writeBytes(((JqJsonReader.Num) v).literal.getBytes(StandardCharsets.US_ASCII));
    } else if (v instanceof String) {
      CanonicalJson.writeString((String) v, out);
    } else {
      out.writeBytes(String.valueOf(v == JqJsonReader.NULL ? "null" : v).getBytes(StandardCharsets.UTF_8));
    }
  }
}
