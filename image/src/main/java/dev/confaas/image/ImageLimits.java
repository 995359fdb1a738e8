package dev.confaas.image;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How big an image may be: per layer (uncompressed bytes, tar entries), per image (uncompressed
 * bytes of all its layers), per path inside a layer (bytes, depth), and per manifest (bytes).
 *
 * <p>One value, enforced by the same code wherever an image is received — {@link
 * ImageRepository#putBlob} at deploy, {@link LayerUnpacker} in the TD agent, {@link
 * Manifest#parse(byte[], ImageLimits)} and {@link #readManifest} for manifests — while the bytes
 * stream past, so a tar bomb (a 1 MB gzip of zeros expands to 1 GiB) is refused after at most the
 * limit, never after it has filled a disk. A violation throws {@link LayerException} or {@link
 * ManifestException} naming the layer or manifest, the setting and the value reached.
 *
 * <p>Defaults, chosen for functions (code plus a language runtime): a layer at most {@value
 * #DEFAULT_MAX_LAYER_BYTES} bytes (1 GiB) and {@value #DEFAULT_MAX_LAYER_ENTRIES} entries; an
 * image at most {@value #DEFAULT_MAX_IMAGE_BYTES} bytes (2 GiB) over all layers; a path at most
 * {@value #DEFAULT_MAX_PATH_BYTES} bytes (Linux's PATH_MAX) and {@value #DEFAULT_MAX_PATH_DEPTH}
 * components deep; a manifest at most {@value #DEFAULT_MAX_MANIFEST_BYTES} bytes (1 MiB; real ones
 * are a few KB). There is no gzip expansion-ratio limit: the absolute limits already bound disk and
 * CPU, and a ratio limit would refuse honest layers holding zero-filled files.
 *
 * <p>Settings (see {@link #fromSettings}) carry these names; values are integers, sizes may end in
 * {@code KiB}, {@code MiB} or {@code GiB}.
 */
public final class ImageLimits {
  public static final String MAX_LAYER_BYTES = "image.maxLayerBytes";
  public static final String MAX_IMAGE_BYTES = "image.maxImageBytes";
  public static final String MAX_LAYER_ENTRIES = "image.maxLayerEntries";
  public static final String MAX_PATH_BYTES = "image.maxPathBytes";
  public static final String MAX_PATH_DEPTH = "image.maxPathDepth";
  public static final String MAX_MANIFEST_BYTES = "image.maxManifestBytes";

  public static final long DEFAULT_MAX_LAYER_BYTES = 1L << 30;
  public static final long DEFAULT_MAX_IMAGE_BYTES = 2L << 30;
  public static final int DEFAULT_MAX_LAYER_ENTRIES = 100_000;
  public static final int DEFAULT_MAX_PATH_BYTES = 4096;
  public static final int DEFAULT_MAX_PATH_DEPTH = 128;
  public static final int DEFAULT_MAX_MANIFEST_BYTES = 1 << 20;

  private static final ImageLimits DEFAULTS = new Builder().build();
  private static final Pattern SIZE =
      Pattern.compile("([0-9]{1,19})\\s*(|B|KiB|MiB|GiB)", Pattern.CASE_INSENSITIVE);

  private final long maxLayerBytes;
  private final long maxImageBytes;
  private final int maxLayerEntries;
  private final int maxPathBytes;
  private final int maxPathDepth;
  private final int maxManifestBytes;

  private ImageLimits(Builder b) {
    this.maxLayerBytes = b.maxLayerBytes;
    this.maxImageBytes = b.maxImageBytes;
    this.maxLayerEntries = b.maxLayerEntries;
    this.maxPathBytes = b.maxPathBytes;
    this.maxPathDepth = b.maxPathDepth;
    this.maxManifestBytes = b.maxManifestBytes;
  }

  /** The documented defaults. */
  public static ImageLimits defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these limits. */
  public Builder toBuilder() {
    return new Builder()
        .maxLayerBytes(maxLayerBytes)
        .maxImageBytes(maxImageBytes)
        .maxLayerEntries(maxLayerEntries)
        .maxPathBytes(maxPathBytes)
        .maxPathDepth(maxPathDepth)
        .maxManifestBytes(maxManifestBytes);
  }

  /**
   * Limits from settings (a properties file, a settings map): the {@code image.*} keys named by
   * the constants of this class; absent keys keep their defaults, other prefixes are ignored.
   *
   * @throws IllegalArgumentException naming the key if an {@code image.*} key is unknown (a typo
   *     would otherwise silently keep a default) or its value is not a positive size
   */
  public static ImageLimits fromSettings(Map<String, String> settings) {
    Builder b = builder();
    for (Map.Entry<String, String> e : settings.entrySet()) {
      String k = e.getKey();
      if (!k.startsWith("image.")) {
        continue;
      }
      long v = parseSize(k, e.getValue());
      switch (k) {
        case MAX_LAYER_BYTES -> b.maxLayerBytes(v);
        case MAX_IMAGE_BYTES -> b.maxImageBytes(v);
        case MAX_LAYER_ENTRIES -> b.maxLayerEntries(toInt(k, v));
        case MAX_PATH_BYTES -> b.maxPathBytes(toInt(k, v));
        case MAX_PATH_DEPTH -> b.maxPathDepth(toInt(k, v));
        case MAX_MANIFEST_BYTES -> b.maxManifestBytes(toInt(k, v));
        default ->
            throw new IllegalArgumentException(
                "unknown setting "
                    + k
                    + "; the image limits are "
                    + String.join(
                        ", ",
                        MAX_LAYER_BYTES,
                        MAX_IMAGE_BYTES,
                        MAX_LAYER_ENTRIES,
                        MAX_PATH_BYTES,
                        MAX_PATH_DEPTH,
                        MAX_MANIFEST_BYTES));
      }
    }
    return b.build();
  }

  private static long parseSize(String key, String value) {
    Matcher m = SIZE.matcher(value == null ? "" : value.strip());
    if (m.matches()) {
      try {
        long n = Long.parseLong(m.group(1));
        int shift =
            switch (m.group(2).toLowerCase(Locale.ROOT)) {
              case "kib" -> 10;
              case "mib" -> 20;
              case "gib" -> 30;
              default -> 0;
            };
        if (n > 0 && n <= Long.MAX_VALUE >> shift) {
          return n << shift;
        }
      } catch (NumberFormatException tooLong) {
        // reported below
      }
    }
    throw new IllegalArgumentException(
        key
            + " = \""
            + value
            + "\" is not a positive size; write a whole number, optionally ending in KiB, MiB or"
            + " GiB (e.g. 1GiB)");
  }

  private static int toInt(String key, long v) {
    if (v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          key + " = " + v + " is too large; it must be at most " + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  /** Most bytes one layer's uncompressed tar may have. */
  public long maxLayerBytes() {
    return maxLayerBytes;
  }

  /** Most bytes the uncompressed tars of all of an image's layers may have together. */
  public long maxImageBytes() {
    return maxImageBytes;
  }

  /** Most entries (files, directories, links, whiteouts) one layer's tar may have. */
  public int maxLayerEntries() {
    return maxLayerEntries;
  }

  /** Most UTF-8 bytes in an entry's path or link target. */
  public int maxPathBytes() {
    return maxPathBytes;
  }

  /** Most components ({@code a/b/c} has 3) in an entry's path. */
  public int maxPathDepth() {
    return maxPathDepth;
  }

  /** Most bytes of a manifest as authored. */
  public int maxManifestBytes() {
    return maxManifestBytes;
  }

  /**
   * Most bytes of one tar meta entry (a PAX header or GNU long name), which tar readers hold in
   * memory whole: room for a path and a link target at their limit plus ordinary attributes.
   */
  long maxTarHeaderBytes() {
    return 64L * 1024 + 2L * maxPathBytes;
  }

  /**
   * Reads a manifest's bytes from {@code in} (not closed), never holding more than the limit.
   *
   * @throws ManifestException if more than {@link #maxManifestBytes()} bytes arrive
   */
  public byte[] readManifest(InputStream in) throws IOException {
    byte[] b = in.readNBytes(maxManifestBytes + 1);
    checkManifestSize(b.length);
    return b;
  }

  /** Refuses a manifest of {@code length} bytes if it is over the limit. */
  void checkManifestSize(long length) {
    if (length > maxManifestBytes) {
      throw new ManifestException(
          "manifest is larger than "
              + size(maxManifestBytes)
              + " (limit "
              + MAX_MANIFEST_BYTES
              + "); refused after "
              + bytes(length)
              + ". A manifest names layers by digest and is a few KB; put files in a layer");
    }
  }

  /** {@code n} bytes as people read it: {@code 1 GiB}, {@code 64 KiB}, or {@code 1 234 bytes}. */
  static String size(long n) {
    for (String[] unit : new String[][] {{"30", "GiB"}, {"20", "MiB"}, {"10", "KiB"}}) {
      int shift = Integer.parseInt(unit[0]);
      if (n >= (1L << shift) && n % (1L << shift) == 0) {
        return (n >> shift) + " " + unit[1];
      }
    }
    return bytes(n);
  }

  /** {@code 1073741825} as {@code 1 073 741 825 bytes}. */
  static String bytes(long n) {
    return String.format(Locale.ROOT, "%,d bytes", n).replace(',', ' ');
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImageLimits l
        && l.maxLayerBytes == maxLayerBytes
        && l.maxImageBytes == maxImageBytes
        && l.maxLayerEntries == maxLayerEntries
        && l.maxPathBytes == maxPathBytes
        && l.maxPathDepth == maxPathDepth
        && l.maxManifestBytes == maxManifestBytes;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        maxLayerBytes, maxImageBytes, maxLayerEntries, maxPathBytes, maxPathDepth, maxManifestBytes);
  }

  @Override
  public String toString() {
    return MAX_LAYER_BYTES
        + "="
        + maxLayerBytes
        + " "
        + MAX_IMAGE_BYTES
        + "="
        + maxImageBytes
        + " "
        + MAX_LAYER_ENTRIES
        + "="
        + maxLayerEntries
        + " "
        + MAX_PATH_BYTES
        + "="
        + maxPathBytes
        + " "
        + MAX_PATH_DEPTH
        + "="
        + maxPathDepth
        + " "
        + MAX_MANIFEST_BYTES
        + "="
        + maxManifestBytes;
  }

  /** Sets limits one by one; every limit must be at least 1. */
  public static final class Builder {
    private long maxLayerBytes = DEFAULT_MAX_LAYER_BYTES;
    private long maxImageBytes = DEFAULT_MAX_IMAGE_BYTES;
    private int maxLayerEntries = DEFAULT_MAX_LAYER_ENTRIES;
    private int maxPathBytes = DEFAULT_MAX_PATH_BYTES;
    private int maxPathDepth = DEFAULT_MAX_PATH_DEPTH;
    private int maxManifestBytes = DEFAULT_MAX_MANIFEST_BYTES;

    private Builder() {}

    public Builder maxLayerBytes(long v) {
      maxLayerBytes = positive(MAX_LAYER_BYTES, v);
      return this;
    }

    public Builder maxImageBytes(long v) {
      maxImageBytes = positive(MAX_IMAGE_BYTES, v);
      return this;
    }

    public Builder maxLayerEntries(int v) {
      maxLayerEntries = (int) positive(MAX_LAYER_ENTRIES, v);
      return this;
    }

    public Builder maxPathBytes(int v) {
      maxPathBytes = (int) positive(MAX_PATH_BYTES, v);
      return this;
    }

    public Builder maxPathDepth(int v) {
      maxPathDepth = (int) positive(MAX_PATH_DEPTH, v);
      return this;
    }

    /** At most {@code Integer.MAX_VALUE - 1}, since a manifest is held in one array. */
    public Builder maxManifestBytes(int v) {
      maxManifestBytes = (int) Math.min(positive(MAX_MANIFEST_BYTES, v), Integer.MAX_VALUE - 1);
      return this;
    }

    public ImageLimits build() {
      return new ImageLimits(this);
    }

    private static long positive(String key, long v) {
      if (v < 1) {
        throw new IllegalArgumentException(key + " must be at least 1, got " + v);
      }
      return v;
    }
  }
}
