package dev.confaas.attestation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * An RTMR event log in ACON's format (ARCHITECTURE.md "RTMR3 log"; acond {@code utils.rs}): each
 * entry is one ASCII line, the value extended is SHA-384(line) and RTMR = SHA-384(RTMR || value),
 * starting from 48 zero bytes. acond writes {@value #INIT_PREFIX}{@code 0…0} (96 zeros) before its
 * first entry, then {@code github.com/intel/ACON AddManifest <IMAGE_ID>} per image and {@code
 * github.com/intel/ACON Finalize}. An empty log (a fresh TD) replays to 48 zero bytes.
 *
 * <p>Instances are immutable; {@link #append} returns a new log.
 */
public final class RtmrLog {
  public static final String INIT_PREFIX = "INIT sha384/";
  public static final String INIT_LINE = INIT_PREFIX + "0".repeat(96);
  public static final String ADD_MANIFEST_PREFIX = "github.com/intel/ACON AddManifest ";
  public static final String FINALIZE_LINE = "github.com/intel/ACON Finalize";
  public static final int RTMR_SIZE = 48;

  private final List<String> lines;
  private final List<byte[]> values; // values.get(i) = RTMR after lines 0..i

  private RtmrLog(List<String> lines) {
    this.lines = List.copyOf(lines);
    List<byte[]> v = new ArrayList<>(lines.size());
    byte[] rtmr = new byte[RTMR_SIZE];
    for (String line : this.lines) {
      rtmr = extend(rtmr, sha384(line.getBytes(StandardCharsets.US_ASCII)));
      v.add(rtmr);
    }
    this.values = v;
  }

  public static RtmrLog empty() {
    return new RtmrLog(List.of());
  }

  /** A log of the given lines, each checked to be one line of printable ASCII. */
  public static RtmrLog of(List<String> lines) {
    for (int i = 0; i < lines.size(); i++) {
      checkLine(lines.get(i), i);
    }
    return new RtmrLog(lines);
  }

  /** Parses a log as text: lines separated by LF (acond's rtmr3.log) or NUL (its Report reply). */
  public static RtmrLog parse(String text) {
    List<String> lines = new ArrayList<>();
    for (String l : text.split("[\n\0]", -1)) {
      String line = l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
      if (!line.isEmpty()) {
        lines.add(line);
      }
    }
    return of(lines);
  }

  private static void checkLine(String line, int index) {
    Objects.requireNonNull(line, "line");
    if (line.isEmpty()) {
      throw new IllegalArgumentException("RTMR log line " + index + " is empty");
    }
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException(
            "RTMR log line "
                + index
                + " has a non-printable or non-ASCII character at column "
                + i
                + " (code "
                + (int) c
                + "); entries are single lines of ASCII");
      }
    }
  }

  /** This log with {@code line} appended. */
  public RtmrLog append(String line) {
    checkLine(line, lines.size());
    List<String> next = new ArrayList<>(lines);
    next.add(line);
    return new RtmrLog(next);
  }

  /** This log with an ACON AddManifest entry (and the INIT entry first if the log is empty). */
  public RtmrLog appendManifest(String imageId) {
    return withInit().append(ADD_MANIFEST_PREFIX + imageId);
  }

  /** This log with ACON's Finalize entry (and the INIT entry first if the log is empty). */
  public RtmrLog appendFinalize() {
    return withInit().append(FINALIZE_LINE);
  }

  private RtmrLog withInit() {
    return lines.isEmpty() ? append(INIT_LINE) : this;
  }

  public List<String> lines() {
    return lines;
  }

  public int size() {
    return lines.size();
  }

  /** The RTMR value this log replays to. */
  public byte[] value() {
    return lines.isEmpty() ? new byte[RTMR_SIZE] : values.get(values.size() - 1).clone();
  }

  /** The RTMR value after the first {@code count} lines (0 = 48 zero bytes). */
  public byte[] valueAfter(int count) {
    return count == 0 ? new byte[RTMR_SIZE] : values.get(count - 1).clone();
  }

  public String valueHex() {
    return HexFormat.of().formatHex(value());
  }

  /** The log as rtmr3.log text: each line followed by LF. */
  public String toText() {
    StringBuilder sb = new StringBuilder();
    lines.forEach(l -> sb.append(l).append('\n'));
    return sb.toString();
  }

  /** True if this log replays to {@code rtmr} (e.g. a quote's RTMR3). */
  public boolean matches(byte[] rtmr) {
    return MessageDigest.isEqual(value(), rtmr);
  }

  /**
   * Compares this log with the RTMR a quote reports. If they differ but the quote's value equals
   * the value after some prefix of this log, the quote was taken before the later lines were
   * extended (or the log claims lines that never happened); the result says which.
   */
  public Comparison compareTo(byte[] quotedRtmr) {
    if (matches(quotedRtmr)) {
      return new Comparison(true, lines.size(), "log replays to the quoted RTMR");
    }
    for (int n = lines.size() - 1; n >= 0; n--) {
      if (MessageDigest.isEqual(valueAfter(n), quotedRtmr)) {
        return new Comparison(
            false,
            n,
            "the quoted RTMR equals the log's value after "
                + n
                + " of "
                + lines.size()
                + " lines: line "
                + n
                + " ('"
                + lines.get(n)
                + "') and after are not in the quote");
      }
    }
    return new Comparison(
        false,
        -1,
        "log replays to "
            + valueHex()
            + " but the quote has "
            + HexFormat.of().formatHex(quotedRtmr)
            + "; no prefix of the log matches, so the log and the TD diverged");
  }

  /**
   * Index of the first line where this log and {@code other} differ (by content), or empty if they
   * are equal. If one is a prefix of the other, the index is the shorter one's length.
   */
  public OptionalInt firstDivergence(RtmrLog other) {
    int n = Math.min(lines.size(), other.lines.size());
    for (int i = 0; i < n; i++) {
      if (!lines.get(i).equals(other.lines.get(i))) {
        return OptionalInt.of(i);
      }
    }
    return lines.size() == other.lines.size() ? OptionalInt.empty() : OptionalInt.of(n);
  }

  /**
   * Index of the first line whose running RTMR value differs from {@code prefixValues.get(i)} (the
   * value another party observed after its line i), or empty if all given values agree.
   */
  public OptionalInt firstDivergence(List<byte[]> prefixValues) {
    int n = Math.min(lines.size(), prefixValues.size());
    for (int i = 0; i < n; i++) {
      if (!MessageDigest.isEqual(values.get(i), prefixValues.get(i))) {
        return OptionalInt.of(i);
      }
    }
    return lines.size() == prefixValues.size() ? OptionalInt.empty() : OptionalInt.of(n);
  }

  /** RTMR extend: SHA-384(current || digest). */
  public static byte[] extend(byte[] current, byte[] digest) {
    if (current.length != RTMR_SIZE || digest.length != RTMR_SIZE) {
      throw new IllegalArgumentException("RTMR values and extended digests are 48 bytes (SHA-384)");
    }
    MessageDigest md = sha384();
    md.update(current);
    md.update(digest);
    return md.digest();
  }

  static byte[] sha384(byte[] data) {
    return sha384().digest(data);
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-384", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RtmrLog r && r.lines.equals(lines);
  }

  @Override
  public int hashCode() {
    return lines.hashCode();
  }

  @Override
  public String toString() {
    return "RtmrLog" + lines + " -> " + valueHex();
  }

  /**
   * Result of {@link #compareTo(byte[])}: whether the log matches, how many of its lines the quote
   * covers (the full size when it matches, -1 when no prefix matches) and an explanation.
   */
  public record Comparison(boolean matches, int linesCovered, String message) {}
}
