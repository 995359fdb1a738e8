package dev.confaas.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ACON image manifest, immutable, with ACON's field names and defaults.
 *
 * <p>{@link #parse} keeps the bytes as authored: {@link #canonicalBytes()} is computed from them
 * (as {@code jq -jcS .} would), never from this model, so the image ID is the one every other ACON
 * tool computes for the same file.
 *
 * <p><b>Unknown fields are rejected</b>, at the top level and inside {@code aliases} and {@code
 * policy}. ACON leaves this open (a TODO in the spec); ConFaaS chooses to reject, because a field
 * the signer meant to mean something but the loader ignores is a silent security gap, and ignoring
 * is easy to relax later while rejecting is not. A repeated key is rejected for the same reason
 * (parsers disagree on which copy wins). Defaults when a field is absent: {@code layers}, {@code
 * entrypoint}, {@code env}, {@code uids}, {@code logFDs}, {@code signals}, {@code aliases.*} and
 * {@code policy.accepts} empty; {@code workingDir} {@code /}; {@code writableFS}, {@code
 * noRestart}, {@code policy.rejectUnaccepted} false; {@code maxInstances} 1 (0 means no limit).
 *
 * @see <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#manifest">ACON: Manifest</a>
 */
public final class Manifest {
  /** The only {@code aconSpecVersion} major this implementation knows. */
  public static final int SPEC_MAJOR = 1;

  private static final Set<String> FIELDS =
      Set.of(
          "aconSpecVersion",
          "layers",
          "aliases",
          "entrypoint",
          "env",
          "workingDir",
          "uids",
          "logFDs",
          "writableFS",
          "noRestart",
          "signals",
          "maxInstances",
          "policy");

  /** Largest integer a JSON number can carry exactly through jq (2^53). */
  private static final double MAX_EXACT = 9007199254740992d;

  private final byte[] bytes;
  private final byte[] canonical;
  private final int specMajor;
  private final int specMinor;
  private final List<LayerRef> layers;
  private final Aliases aliases;
  private final List<String> entrypoint;
  private final List<String> env;
  private final String workingDir;
  private final List<Long> uids;
  private final List<Integer> logFDs;
  private final boolean writableFS;
  private final boolean noRestart;
  private final List<Integer> signals;
  private final long maxInstances;
  private final Policy policy;

  /** {@code aliases}: names this manifest gives to layers ({@code contents}) and to itself. */
  public static final class Aliases {
    private final Map<LayerRef, List<NameSvn>> contents;
    private final List<NameSvn> self;

    Aliases(Map<LayerRef, List<NameSvn>> contents, List<NameSvn> self) {
      this.contents = Collections.unmodifiableMap(contents);
      this.self = List.copyOf(self);
    }

    /**
     * {@code aliases.contents}: object (layer digest or alias reference) to its aliases, in order.
     */
    public Map<LayerRef, List<NameSvn>> contents() {
      return contents;
    }

    /** {@code aliases.self["."]}: aliases of this image, for other images' launch policies. */
    public List<NameSvn> self() {
      return self;
    }
  }

  /** {@code policy}: which images may share a TD with this one. */
  public static final class Policy {
    private final List<String> accepts;
    private final boolean rejectUnaccepted;

    Policy(List<String> accepts, boolean rejectUnaccepted) {
      this.accepts = List.copyOf(accepts);
      this.rejectUnaccepted = rejectUnaccepted;
    }

    /**
     * {@code policy.accepts}: rules {@code HASH/SIGNER/MANIFEST}, syntax-checked here (SIGNER is
     * hex or {@code *}; MANIFEST is hex, {@code NAME:SVN} or {@code *}); matching is the policy
     * module's.
     */
    public List<String> accepts() {
      return accepts;
    }

    /** {@code policy.rejectUnaccepted}, default false. */
    public boolean rejectUnaccepted() {
      return rejectUnaccepted;
    }
  }

  private Manifest(byte[] bytes, Map<String, Object> root) {
    this.bytes = bytes;
    this.canonical = CanonicalJson.write(root);
    for (String key : root.keySet()) {
      if (!FIELDS.contains(key)) {
        throw new ManifestException(
            key
                + ": unknown manifest field (ConFaaS rejects fields ACON does not define; known: "
                + String.join(", ", new java.util.TreeSet<>(FIELDS))
                + ")");
      }
    }
    Object version = root.get("aconSpecVersion");
    if (version == null) {
      throw new ManifestException("aconSpecVersion: missing (expected [1, 0])");
    }
    List<Object> v = array(version, "aconSpecVersion");
    if (v.size() != 2) {
      throw new ManifestException(
          "aconSpecVersion: expected [MAJOR, MINOR] such as [1, 0], got " + v.size() + " elements");
    }
    this.specMajor = (int) integer(v.get(0), "aconSpecVersion[0]", 0, Integer.MAX_VALUE);
    this.specMinor = (int) integer(v.get(1), "aconSpecVersion[1]", 0, Integer.MAX_VALUE);
    if (specMajor != SPEC_MAJOR) {
      throw new ManifestException(
          "aconSpecVersion: major version "
              + specMajor
              + " is not supported (this implementation knows only "
              + SPEC_MAJOR
              + ")");
    }

    List<LayerRef> ls = new ArrayList<>();
    List<Object> rawLayers = optArray(root, "layers");
    for (int i = 0; i < rawLayers.size(); i++) {
      String field = "layers[" + i + "]";
      try {
        LayerRef ref = LayerRef.parse(string(rawLayers.get(i), field));
        int first = ls.indexOf(ref);
        if (first >= 0) {
          // overlayfs refuses a lower directory listed twice (acond marks this check as a TODO)
          throw new ManifestException(field + ": \"" + ref + "\" repeats layers[" + first + "]");
        }
        ls.add(ref);
      } catch (ManifestException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw new ManifestException(field + ": " + e.getMessage(), e);
      }
    }
    this.layers = List.copyOf(ls);
    this.aliases = parseAliases(root.get("aliases"));
    this.entrypoint = strings(root, "entrypoint");
    List<String> envs = strings(root, "env");
    for (int i = 0; i < envs.size(); i++) {
      String e = envs.get(i);
      if (e.isEmpty() || e.startsWith("=") || e.indexOf('\0') >= 0) {
        throw new ManifestException(
            "env["
                + i
                + "]: \""
                + e
                + "\" is not an environment rule (expected NAME, NAME= or NAME=VALUE, no NUL)");
      }
    }
    this.env = envs;
    Object wd = root.get("workingDir");
    this.workingDir = wd == null ? "/" : string(wd, "workingDir");
    if (!workingDir.startsWith("/") || workingDir.indexOf('\0') >= 0) {
      throw new ManifestException("workingDir: \"" + workingDir + "\" must be an absolute path");
    }
    List<Long> us = new ArrayList<>();
    List<Object> rawUids = optArray(root, "uids");
    for (int i = 0; i < rawUids.size(); i++) {
      // UID 0 is always mapped; uids lists the additional, non-zero ones (a 32-bit UID).
      us.add(integer(rawUids.get(i), "uids[" + i + "]", 1, 0xFFFF_FFFEL));
    }
    this.uids = List.copyOf(us);
    List<Integer> fds = new ArrayList<>();
    List<Object> rawFds = optArray(root, "logFDs");
    for (int i = 0; i < rawFds.size(); i++) {
      fds.add((int) integer(rawFds.get(i), "logFDs[" + i + "]", 0, Integer.MAX_VALUE));
    }
    this.logFDs = List.copyOf(fds);
    this.writableFS = optBoolean(root, "writableFS", false);
    this.noRestart = optBoolean(root, "noRestart", false);
    List<Integer> sigs = new ArrayList<>();
    List<Object> rawSigs = optArray(root, "signals");
    for (int i = 0; i < rawSigs.size(); i++) {
      int s = (int) integer(rawSigs.get(i), "signals[" + i + "]", -64, 64);
      if (s == 0 && i != 0) {
        throw new ManifestException(
            "signals[" + i + "]: 0 (no signal) is meaningful only as the first element");
      }
      sigs.add(s);
    }
    this.signals = List.copyOf(sigs);
    Object mi = root.get("maxInstances");
    this.maxInstances = mi == null ? 1 : integer(mi, "maxInstances", 0, (long) MAX_EXACT);
    this.policy = parsePolicy(root.get("policy"));
  }

  /**
   * Parses and validates a manifest of at most the default {@link ImageLimits#maxManifestBytes()}.
   *
   * @throws ManifestException naming the field at fault (or the byte offset of a JSON syntax error)
   */
  public static Manifest parse(byte[] json) {
    return parse(json, ImageLimits.defaults());
  }

  /**
   * Parses and validates a manifest, refusing one larger than {@code limits} allow before parsing
   * it (to read one from a stream without holding more than that, use {@link
   * ImageLimits#readManifest}).
   *
   * @throws ManifestException naming the field at fault, the byte offset of a JSON syntax error, or
   *     the size limit
   */
  public static Manifest parse(byte[] json, ImageLimits limits) {
    limits.checkManifestSize(json.length);
    Object root;
    try {
      root = JqJsonReader.parse(json, true);
    } catch (IllegalArgumentException e) {
      throw new ManifestException("manifest is not valid JSON: " + e.getMessage(), e);
    }
    if (!(root instanceof Map)) {
      throw new ManifestException("manifest must be a JSON object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> map = (Map<String, Object>) root;
    return new Manifest(json.clone(), map);
  }

  public static Builder builder() {
    return new Builder();
  }

  // --- accessors -------------------------------------------------------------------------------

  /**
   * The manifest bytes as authored (what is stored and sent; signatures cover the canonical form).
   */
  public byte[] bytes() {
    return bytes.clone();
  }

  /** The canonical form, as {@code jq -jcS .} prints the authored bytes; this is what is signed. */
  public byte[] canonicalBytes() {
    return canonical.clone();
  }

  /**
   * The digest of the canonical form under {@code algorithm} (the MANIFEST part of an image ID).
   */
  public Digest digest(HashAlgorithm algorithm) {
    return Digest.of(algorithm, canonical);
  }

  public int specMajor() {
    return specMajor;
  }

  public int specMinor() {
    return specMinor;
  }

  /** {@code aconSpecVersion} as {@code [MAJOR, MINOR]}. */
  public List<Integer> aconSpecVersion() {
    return List.of(specMajor, specMinor);
  }

  /** {@code layers}, lowest first: layer digests and alias references. */
  public List<LayerRef> layers() {
    return layers;
  }

  public Aliases aliases() {
    return aliases;
  }

  /** {@code entrypoint}: {@code execve} path followed by the remaining argv. */
  public List<String> entrypoint() {
    return entrypoint;
  }

  /** {@code env} rules: {@code NAME}, {@code NAME=} or {@code NAME=VALUE}. */
  public List<String> env() {
    return env;
  }

  public String workingDir() {
    return workingDir;
  }

  public List<Long> uids() {
    return uids;
  }

  public List<Integer> logFDs() {
    return logFDs;
  }

  public boolean writableFS() {
    return writableFS;
  }

  public boolean noRestart() {
    return noRestart;
  }

  public List<Integer> signals() {
    return signals;
  }

  /** {@code maxInstances}, default 1; 0 means no limit. */
  public long maxInstances() {
    return maxInstances;
  }

  public Policy policy() {
    return policy;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Manifest && Arrays.equals(((Manifest) o).canonical, canonical);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(canonical);
  }

  /** The canonical JSON. */
  @Override
  public String toString() {
    return new String(canonical, StandardCharsets.UTF_8);
  }

  // --- validation helpers ----------------------------------------------------------------------

  private static Aliases parseAliases(Object raw) {
    Map<LayerRef, List<NameSvn>> contents = new LinkedHashMap<>();
    List<NameSvn> self = new ArrayList<>();
    if (raw == null) {
      return new Aliases(contents, self);
    }
    Map<String, Object> a = object(raw, "aliases");
    for (Map.Entry<String, Object> e : a.entrySet()) {
      String type = e.getKey();
      if (type.equals("contents")) {
        for (Map.Entry<String, Object> c : object(e.getValue(), "aliases.contents").entrySet()) {
          String field = "aliases.contents[\"" + c.getKey() + "\"]";
          LayerRef ref;
          try {
            ref = LayerRef.parse(c.getKey());
          } catch (IllegalArgumentException ex) {
            throw new ManifestException(field + ": " + ex.getMessage(), ex);
          }
          contents.put(ref, nameSvns(c.getValue(), field));
        }
      } else if (type.equals("self")) {
        for (Map.Entry<String, Object> c : object(e.getValue(), "aliases.self").entrySet()) {
          if (!c.getKey().equals(".")) {
            throw new ManifestException(
                "aliases.self[\""
                    + c.getKey()
                    + "\"]: only \".\" (this image) may be aliased in 'self'");
          }
          self.addAll(nameSvns(c.getValue(), "aliases.self[\".\"]"));
        }
      } else if (type.equals("images")) {
        throw new ManifestException(
            "aliases.images: reserved by ACON; no image aliases other than 'self' may be defined");
      } else {
        throw new ManifestException(
            "aliases." + type + ": unknown alias type (expected 'contents' or 'self')");
      }
    }
    return new Aliases(contents, self);
  }

  private static List<NameSvn> nameSvns(Object raw, String field) {
    List<Object> list = array(raw, field);
    if (list.isEmpty()) {
      throw new ManifestException(field + ": must list at least one alias NAME:SVN");
    }
    List<NameSvn> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String f = field + "[" + i + "]";
      try {
        out.add(NameSvn.parse(string(list.get(i), f)));
      } catch (ManifestException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw new ManifestException(f + ": " + e.getMessage(), e);
      }
    }
    return List.copyOf(out);
  }

  private static Policy parsePolicy(Object raw) {
    if (raw == null) {
      return new Policy(List.of(), false);
    }
    Map<String, Object> p = object(raw, "policy");
    for (String k : p.keySet()) {
      if (!k.equals("accepts") && !k.equals("rejectUnaccepted")) {
        throw new ManifestException(
            "policy." + k + ": unknown policy field (expected 'accepts' and 'rejectUnaccepted')");
      }
    }
    List<String> accepts = strings(p, "accepts", "policy.accepts");
    for (int i = 0; i < accepts.size(); i++) {
      String err = acceptRuleError(accepts.get(i));
      if (err != null) {
        throw new ManifestException("policy.accepts[" + i + "]: \"" + accepts.get(i) + "\" " + err);
      }
    }
    return new Policy(accepts, optBoolean(p, "rejectUnaccepted", "policy.rejectUnaccepted", false));
  }

  /** Null if {@code rule} is a well-formed {@code HASH/SIGNER/MANIFEST}; otherwise why not. */
  static String acceptRuleError(String rule) {
    int a = rule.indexOf('/');
    int b = a < 0 ? -1 : rule.indexOf('/', a + 1);
    if (b < 0) {
      return "is not a launch policy rule: expected HASH/SIGNER/MANIFEST";
    }
    HashAlgorithm alg;
    try {
      alg = HashAlgorithm.fromAconName(rule.substring(0, a));
    } catch (IllegalArgumentException e) {
      return "has a bad HASH: " + e.getMessage();
    }
    String signer = rule.substring(a + 1, b);
    if (!signer.equals("*")) {
      try {
        Hex.decode(signer, alg.hexLength(), "SIGNER");
      } catch (IllegalArgumentException e) {
        return "has a bad SIGNER (hex or *): " + e.getMessage();
      }
    }
    String m = rule.substring(b + 1);
    if (m.equals("*")) {
      return null;
    }
    if (m.indexOf(':') >= 0) {
      if (signer.equals("*")) {
        // Self aliases are bound to their signer (ACON prefixes them), so a NAME:SVN rule must
        // name one; the policy module refuses the same rule for the same reason.
        return "names the self alias " + m + " under any signer (*): self aliases only mean"
            + " something per signer; put the signer's hex in place of *";
      }
      try {
        NameSvn.parse(m);
        return null;
      } catch (IllegalArgumentException e) {
        return "has a bad MANIFEST alias: " + e.getMessage();
      }
    }
    try {
      Hex.decode(m, alg.hexLength(), "MANIFEST");
      return null;
    } catch (IllegalArgumentException e) {
      return "has a bad MANIFEST (hex digest, NAME:SVN or *): " + e.getMessage();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> object(Object v, String field) {
    if (!(v instanceof Map)) {
      throw new ManifestException(field + ": expected an object, got " + kind(v));
    }
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> array(Object v, String field) {
    if (!(v instanceof List)) {
      throw new ManifestException(field + ": expected an array, got " + kind(v));
    }
    return (List<Object>) v;
  }

  private static List<Object> optArray(Map<String, Object> m, String field) {
    Object v = m.get(field);
    return v == null ? List.of() : array(v, field);
  }

  private static String string(Object v, String field) {
    if (!(v instanceof String)) {
      throw new ManifestException(field + ": expected a string, got " + kind(v));
    }
    return (String) v;
  }

  private static List<String> strings(Map<String, Object> m, String field) {
    return strings(m, field, field);
  }

  private static List<String> strings(Map<String, Object> m, String key, String field) {
    Object v = m.get(key);
    if (v == null) {
      return List.of();
    }
    List<Object> list = array(v, field);
    List<String> out = new ArrayList<>(list.size());
    for (int i = 0; i < list.size(); i++) {
      out.add(string(list.get(i), field + "[" + i + "]"));
    }
    return List.copyOf(out);
  }

  private static boolean optBoolean(Map<String, Object> m, String field, boolean dflt) {
    return optBoolean(m, field, field, dflt);
  }

  private static boolean optBoolean(Map<String, Object> m, String key, String field, boolean dflt) {
    Object v = m.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Boolean)) {
      throw new ManifestException(field + ": expected true or false, got " + kind(v));
    }
    return (Boolean) v;
  }

  /** An integer by value (jq reads every number as a double, so 1.0 and 1 are the same number). */
  private static long integer(Object v, String field, long min, long max) {
    if (!(v instanceof JqJsonReader.Num)) {
      throw new ManifestException(field + ": expected an integer, got " + kind(v));
    }
    double d = ((JqJsonReader.Num) v).value;
    if (d != Math.rint(d) || Double.isInfinite(d) || Math.abs(d) > MAX_EXACT) {
      throw new ManifestException(
          field + ": " + ((JqJsonReader.Num) v).literal + " is not an integer in range");
    }
    long l = (long) d;
    if (l < min || l > max) {
      throw new ManifestException(field + ": " + l + " is out of range [" + min + ", " + max + "]");
    }
    return l;
  }

  private static String kind(Object v) {
    if (v == null || v == JqJsonReader.NULL) {
      return "null";
    }
    if (v instanceof Map) {
      return "an object";
    }
    if (v instanceof List) {
      return "an array";
    }
    if (v instanceof String) {
      return "a string";
    }
    if (v instanceof Boolean) {
      return "a boolean";
    }
    return "a number";
  }

  // --- builder ---------------------------------------------------------------------------------

  /**
   * Builds a manifest from scratch (the CLI's {@code image build}). Every ACON field is written,
   * defaults included, because acond's parser requires some of them; the result is pretty-printed
   * JSON with sorted keys and then parsed and validated like any other manifest.
   */
  public static final class Builder {
    private int specMinor = 0;
    private final List<LayerRef> layers = new ArrayList<>();
    private final Map<LayerRef, List<NameSvn>> contentAliases = new LinkedHashMap<>();
    private final List<NameSvn> selfAliases = new ArrayList<>();
    private final List<String> entrypoint = new ArrayList<>();
    private final List<String> env = new ArrayList<>();
    private String workingDir = "/";
    private final List<Long> uids = new ArrayList<>();
    private final List<Integer> logFDs = new ArrayList<>();
    private boolean writableFS;
    private boolean noRestart;
    private final List<Integer> signals = new ArrayList<>();
    private long maxInstances = 1;
    private final List<String> accepts = new ArrayList<>();
    private boolean rejectUnaccepted;

    private Builder() {}

    public Builder specMinor(int minor) {
      this.specMinor = minor;
      return this;
    }

    /** Appends a layer on top of those added so far (layers are listed lowest first). */
    public Builder addLayer(LayerRef layer) {
      layers.add(layer);
      return this;
    }

    public Builder layers(List<? extends LayerRef> all) {
      layers.clear();
      layers.addAll(all);
      return this;
    }

    /** Adds {@code alias} for {@code object} to {@code aliases.contents}. */
    public Builder contentAlias(LayerRef object, NameSvn alias) {
      contentAliases.computeIfAbsent(object, k -> new ArrayList<>()).add(alias);
      return this;
    }

    /** Adds an alias of this image ({@code aliases.self["."]}). */
    public Builder selfAlias(NameSvn alias) {
      selfAliases.add(alias);
      return this;
    }

    public Builder entrypoint(List<String> argv) {
      entrypoint.clear();
      entrypoint.addAll(argv);
      return this;
    }

    public Builder entrypoint(String... argv) {
      return entrypoint(Arrays.asList(argv));
    }

    public Builder addEnv(String rule) {
      env.add(rule);
      return this;
    }

    public Builder workingDir(String dir) {
      this.workingDir = dir;
      return this;
    }

    public Builder addUid(long uid) {
      uids.add(uid);
      return this;
    }

    public Builder addLogFD(int fd) {
      logFDs.add(fd);
      return this;
    }

    public Builder writableFS(boolean v) {
      this.writableFS = v;
      return this;
    }

    public Builder noRestart(boolean v) {
      this.noRestart = v;
      return this;
    }

    public Builder addSignal(int signum) {
      signals.add(signum);
      return this;
    }

    public Builder maxInstances(long n) {
      this.maxInstances = n;
      return this;
    }

    /** Adds a launch policy rule {@code HASH/SIGNER/MANIFEST}. */
    public Builder accept(String rule) {
      accepts.add(rule);
      return this;
    }

    public Builder rejectUnaccepted(boolean v) {
      this.rejectUnaccepted = v;
      return this;
    }

    /**
     * Writes and validates the manifest.
     *
     * @throws ManifestException if a value breaks a manifest rule
     */
    public Manifest build() {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("aconSpecVersion", List.of(num(SPEC_MAJOR), num(specMinor)));
      root.put("layers", strs(layers));
      Map<String, Object> aliases = new LinkedHashMap<>();
      Map<String, Object> contents = new LinkedHashMap<>();
      contentAliases.forEach((k, v) -> contents.put(k.toString(), strs(v)));
      aliases.put("contents", contents);
      Map<String, Object> self = new LinkedHashMap<>();
      if (!selfAliases.isEmpty()) {
        self.put(".", strs(selfAliases));
      }
      aliases.put("self", self);
      root.put("aliases", aliases);
      root.put("entrypoint", List.copyOf(entrypoint));
      root.put("env", List.copyOf(env));
      root.put("workingDir", workingDir);
      root.put("uids", nums(uids));
      root.put("logFDs", nums(logFDs));
      root.put("writableFS", writableFS);
      root.put("noRestart", noRestart);
      root.put("signals", nums(signals));
      root.put("maxInstances", num(maxInstances));
      Map<String, Object> policy = new LinkedHashMap<>();
      policy.put("accepts", List.copyOf(accepts));
      policy.put("rejectUnaccepted", rejectUnaccepted);
      root.put("policy", policy);
      return parse(PrettyJson.write(root));
    }

    private static JqJsonReader.Num num(long v) {
      return new JqJsonReader.Num(Long.toString(v), v);
    }

    private static List<Object> nums(List<? extends Number> l) {
      List<Object> out = new ArrayList<>();
      for (Number n : l) {
        out.add(num(n.longValue()));
      }
      return out;
    }

    private static List<Object> strs(List<?> l) {
      List<Object> out = new ArrayList<>();
      for (Object o : l) {
        out.add(o.toString());
      }
      return out;
    }
  }
}
