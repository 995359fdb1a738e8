package dev.confaas.platform;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Unique marker strings to send through the platform, and a search for them in bytes however the
 * host may have held them. A marker is {@code cfmk<kind>é-<32 hex digits of a random seed>}: the
 * {@code é} makes its UTF-8 (C3 A9), Latin-1 (E9, how a compact Java String holds it) and UTF-16
 * (00 E9) forms differ, so a search that misses one encoding cannot pass by luck. The function the
 * tests call upper-cases ASCII letters ({@code tr a-z A-Z}), so the response's marker {@code
 * CFMK<KIND>é-<HEX>} is a string of its own.
 *
 * <p>Each marker is searched in every form the host could hold it in: UTF-8, Latin-1, UTF-16LE and
 * UTF-16BE (a heap dump writes a {@code char[]}'s chars big-endian), JSON-escaped ({@code \u00e9}),
 * and base64 (standard and URL alphabets, at each of the three alignments a substring can have in a
 * longer base64 text, e.g. a payload inside a JSON record on a Kafka topic).
 */
final class LeakMarkers {
  private LeakMarkers() {}

  static byte[] event(String kind, byte[] seed) {
    return eventText(kind, seed).getBytes(StandardCharsets.UTF_8);
  }

  /** What {@code tr a-z A-Z} makes of {@link #event}: ASCII letters upper-cased, é unchanged. */
  static byte[] response(String kind, byte[] seed) {
    return responseText(kind, seed).getBytes(StandardCharsets.UTF_8);
  }

  static String eventText(String kind, byte[] seed) {
    return "cfmk" + kind + "\u00e9-" + HexFormat.of().formatHex(seed);
  }

  static String responseText(String kind, byte[] seed) {
    StringBuilder sb = new StringBuilder();
    for (char c : eventText(kind, seed).toCharArray()) {
      sb.append(c >= 'a' && c <= 'z' ? (char) (c - 'a' + 'A') : c);
    }
    return sb.toString();
  }

  /** Every byte form of {@code marker} to look for, by a name saying which form. */
  static Map<String, byte[]> forms(String marker) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    byte[] utf8 = marker.getBytes(StandardCharsets.UTF_8);
    out.put("UTF-8", utf8);
    out.put("Latin-1", marker.getBytes(StandardCharsets.ISO_8859_1));
    out.put("UTF-16LE", marker.getBytes(StandardCharsets.UTF_16LE));
    out.put("UTF-16BE", marker.getBytes(StandardCharsets.UTF_16BE));
    out.put("JSON-escaped", marker.replace("\u00e9", "\\u00e9").getBytes(StandardCharsets.US_ASCII));
    for (int align = 0; align < 3; align++) {
      out.put("base64@" + align, base64Core(Base64.getEncoder(), utf8, align));
      out.put("base64url@" + align, base64Core(Base64.getUrlEncoder(), utf8, align));
    }
    return out;
  }

  /**
   * The characters of the base64 of {@code data} that do not depend on what precedes or follows it
   * when it starts {@code align} bytes into a 3-byte group.
   */
  private static byte[] base64Core(Base64.Encoder enc, byte[] data, int align) {
    byte[] padded = new byte[align + data.length];
    System.arraycopy(data, 0, padded, align, data.length);
    String s = enc.withoutPadding().encodeToString(padded);
    int full = padded.length / 3 * 4; // chars of complete groups only: the last partial one depends on what follows
    int skip = align == 0 ? 0 : align + 1; // chars that mix in the bytes before
    return s.substring(skip, full).getBytes(StandardCharsets.US_ASCII);
  }

  /** Searches bytes for many patterns at once; what it reports is which pattern names were seen. */
  static final class Search {
    private final List<String> names = new ArrayList<>();
    private final List<byte[]> patterns = new ArrayList<>();
    private final List<int[]>[] byAnchor;
    private int longest;

    @SuppressWarnings("unchecked")
    Search(Map<String, byte[]> named) {
      byAnchor = new List[256];
      named.forEach((name, p) -> {
        int i = names.size();
        names.add(name);
        patterns.add(p);
        longest = Math.max(longest, p.length);
        int anchor = 0; // the first non-zero byte: UTF-16BE starts with zeros, which are everywhere
        while (p[anchor] == 0) {
          anchor++;
        }
        int b = p[anchor] & 0xff;
        if (byAnchor[b] == null) {
          byAnchor[b] = new ArrayList<>();
        }
        byAnchor[b].add(new int[] {i, anchor});
      });
    }

    /** The names of the patterns found in {@code data}. */
    Set<String> in(byte[] data) {
      Set<String> found = new TreeSet<>();
      scan(data, data.length, found);
      return found;
    }

    /** The names of the patterns found in the file, read in chunks (a heap dump is large). */
    Set<String> in(Path file) throws IOException {
      Set<String> found = new TreeSet<>();
      int chunk = 8 << 20;
      byte[] buf = new byte[chunk + longest];
      int kept = 0;
      try (InputStream in = Files.newInputStream(file)) {
        while (true) {
          int n = in.readNBytes(buf, kept, chunk);
          if (n <= 0) {
            break;
          }
          int len = kept + n;
          scan(buf, len, found);
          kept = Math.min(longest - 1, len);
          System.arraycopy(buf, len - kept, buf, 0, kept);
        }
      }
      return found;
    }

    private void scan(byte[] buf, int len, Set<String> found) {
      for (int i = 0; i < len; i++) {
        List<int[]> cands = byAnchor[buf[i] & 0xff];
        if (cands == null) {
          continue;
        }
        for (int[] c : cands) {
          byte[] p = patterns.get(c[0]);
          int start = i - c[1];
          if (start < 0 || start + p.length > len) {
            continue;
          }
          int j = 0;
          while (j < p.length && buf[start + j] == p[j]) {
            j++;
          }
          if (j == p.length) {
            found.add(names.get(c[0]));
          }
        }
      }
    }
  }
}
