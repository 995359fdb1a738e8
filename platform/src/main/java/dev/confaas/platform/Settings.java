package dev.confaas.platform;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.confaas.gateway.ConnectionLimits;
import dev.confaas.gateway.GatewayConfig;
import dev.confaas.pool.PoolConfig;
import dev.confaas.pool.TdTimeouts;
import dev.confaas.scheduler.SchedulerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The platform's settings, read once when {@code confaas up} starts: every value the composition
 * root passes to the gateway, the Kafka adapter, the warm pool and the scheduler.
 *
 * <p>Each setting is a key {@code section.name} ({@code pool.size}) with a built-in default. Later
 * sources win: the default, then {@value #FILE_NAME} in the data directory, then the environment
 * variable {@code CONFAAS_<SECTION>_<KEY>} (the key in upper snake case: {@code CONFAAS_POOL_SIZE},
 * {@code CONFAAS_SCHEDULER_QUEUE_CAPACITY}), then a command-line flag of {@code confaas up}. Every
 * key is listed with its default and meaning in {@value #REFERENCE}, which {@link
 * #writeCommentedDefaults} copies, commented out, into a data directory that has no settings file.
 *
 * <p>{@link #load} checks everything before anything starts and reports every problem at once, each
 * naming its key and where the value came from; an unknown key is an error that names the nearest
 * known one, so a typo is never silently ignored.
 */
public final class Settings {

  /** The settings file, in the data directory. */
  public static final String FILE_NAME = "confaas.yaml";

  /** The class-path resource listing every key with its default and meaning. */
  public static final String REFERENCE = "confaas.reference.yaml";

  private static final PoolConfig POOL_DEFAULTS = PoolConfig.defaults();
  private static final SchedulerConfig SCHEDULER_DEFAULTS = SchedulerConfig.defaults();
  private static final Duration ZERO = Duration.ZERO;

  static final Setting GATEWAY_HOST = Setting.ofString("gateway.host", "127.0.0.1");
  static final Setting GATEWAY_PORT = Setting.ofInt("gateway.port", 8080, 0, 65535);
  static final Setting GATEWAY_MAX_BODY_BYTES =
      Setting.ofBytes("gateway.maxBodyBytes", GatewayConfig.DEFAULT_MAX_BODY_BYTES, 1, 1L << 30);
  static final Setting GATEWAY_MAX_DEPLOY_BYTES =
      Setting.ofBytes("gateway.maxDeployBytes", 512L << 20, 1L << 10, 16L << 30);
  static final Setting GATEWAY_IDLE_TIMEOUT =
      Setting.ofDuration("gateway.idleTimeout", Duration.ofSeconds(120), Duration.ofSeconds(1));
  static final Setting GATEWAY_SHUTDOWN_GRACE =
      Setting.ofDuration("gateway.shutdownGrace", Duration.ofSeconds(30), ZERO);
  static final Setting GATEWAY_QUEUE_ALLOWANCE =
      Setting.ofDuration("gateway.queueAllowance", ZERO, ZERO);
  static final Setting GATEWAY_MAX_CONNECTIONS =
      Setting.ofInt("gateway.maxConnections", 0, 0, 1_000_000);
  static final Setting GATEWAY_MAX_CONNECTIONS_PER_CLIENT = Setting.ofInt(
      "gateway.maxConnectionsPerClient", ConnectionLimits.DEFAULT_PER_CLIENT, 1, 1_000_000);
  static final Setting GATEWAY_REQUEST_HEADER_TIMEOUT = Setting.ofDuration(
      "gateway.requestHeaderTimeout", ConnectionLimits.DEFAULT_HEADER_TIMEOUT, Duration.ofMillis(100));

  static final Setting KAFKA_BOOTSTRAP_SERVERS = Setting.ofString("kafka.bootstrapServers", "");
  static final Setting KAFKA_PORT = Setting.ofInt("kafka.port", 0, 0, 65535);
  static final Setting KAFKA_DATA_DIR = Setting.ofString("kafka.dataDir", "kafka");
  static final Setting KAFKA_CLIENT_PROPERTIES = Setting.ofString("kafka.clientProperties", "");

  static final Setting POOL_SIZE = Setting.ofInt("pool.size", POOL_DEFAULTS.target(), 1, 64);
  static final Setting POOL_MIN = Setting.ofInt("pool.min", POOL_DEFAULTS.min(), 0, 64);
  static final Setting POOL_MAX = Setting.ofInt("pool.max", 0, 0, 256);
  static final Setting POOL_BOOTS_IN_FLIGHT =
      Setting.ofInt("pool.bootsInFlight", POOL_DEFAULTS.maxBootsInFlight(), 1, 32);
  static final Setting POOL_HEALTH_INTERVAL =
      Setting.ofDuration("pool.healthInterval", POOL_DEFAULTS.healthInterval(),
          Duration.ofMillis(100));
  static final Setting POOL_MAX_AGE =
      Setting.ofDuration("pool.maxAge", POOL_DEFAULTS.maxAge(), Duration.ofSeconds(1));
  static final Setting POOL_MAX_IMAGES_PER_TD =
      Setting.ofInt("pool.maxImagesPerTd", POOL_DEFAULTS.maxImagesPerTd(), 1, 1024);
  static final Setting POOL_DRAIN_TIMEOUT =
      Setting.ofDuration("pool.drainTimeout", POOL_DEFAULTS.drainTimeout(), ZERO);
  /** 0 = derived from the backend ({@link TdTimeouts}), as for the other limits that follow it. */
  static final Setting POOL_BOOT_TIMEOUT = Setting.ofDuration("pool.bootTimeout", ZERO, ZERO);
  static final Setting POOL_LIVENESS_LIMIT =
      Setting.ofDuration("pool.livenessLimit", POOL_DEFAULTS.livenessLimit(), Duration.ofSeconds(1));
  static final Setting POOL_STOP_GRACE =
      Setting.ofDuration("pool.stopGrace", Duration.ofSeconds(5), ZERO);
  static final Setting POOL_ATTEST_TIMEOUT = Setting.ofDuration("pool.attestTimeout", ZERO, ZERO);
  static final Setting POOL_INSPECT_TIMEOUT = Setting.ofDuration("pool.inspectTimeout", ZERO, ZERO);
  static final Setting POOL_FUNCTION_INIT_TIMEOUT =
      Setting.ofDuration("pool.functionInitTimeout", ZERO, ZERO);
  static final Setting POOL_BACKEND = Setting.ofChoice("pool.backend", "process", "qemu", "qemu-tdx");
  static final Setting POOL_ACCELERATOR = Setting.ofChoice("pool.accelerator", "auto", "kvm", "tcg");
  static final Setting POOL_MEMORY_PER_TD =
      Setting.ofBytes("pool.memoryPerTd", 1L << 30, 256L << 20, 1L << 40);
  static final Setting POOL_VCPUS_PER_TD = Setting.ofInt("pool.vcpusPerTd", 1, 1, 64);
  static final Setting POOL_QEMU = Setting.ofString("pool.qemu", "qemu-system-x86_64");
  static final Setting POOL_GUEST_KERNEL = Setting.ofString("pool.guestKernel", "");
  static final Setting POOL_TDX_FIRMWARE =
      Setting.ofString("pool.tdxFirmware", "/usr/share/ovmf/OVMF.fd");
  static final Setting POOL_TDX_QUOTE_SOCKET =
      Setting.ofString("pool.tdxQuoteSocket", "vsock:2:4050");

  static final Setting SCHEDULER_QUEUE_CAPACITY =
      Setting.ofInt("scheduler.queueCapacity", SCHEDULER_DEFAULTS.queueCapacity(), 0, 100_000);
  static final Setting SCHEDULER_KEEP_ALIVE =
      Setting.ofDuration("scheduler.keepAlive", SCHEDULER_DEFAULTS.keepAlive(),
          Duration.ofSeconds(1));
  static final Setting SCHEDULER_MAX_INSTANCES_PER_TD =
      Setting.ofInt("scheduler.maxInstancesPerTd", SCHEDULER_DEFAULTS.maxInstancesPerTd(), 1, 1024);
  static final Setting SCHEDULER_MAX_COLD_STARTS =
      Setting.ofInt("scheduler.maxColdStarts", SCHEDULER_DEFAULTS.maxColdStartsInFlight(), 1, 256);
  static final Setting SCHEDULER_LOAD_TIMEOUT =
      Setting.ofDuration("scheduler.loadTimeout", ZERO, ZERO);
  static final Setting SCHEDULER_INVOKE_GRACE =
      Setting.ofDuration("scheduler.invokeGrace", ZERO, ZERO);
  static final Setting SCHEDULER_TICK =
      Setting.ofDuration("scheduler.tick", SCHEDULER_DEFAULTS.tick(), Duration.ofMillis(10));
  static final Setting SCHEDULER_WORKER_THREADS =
      Setting.ofInt("scheduler.workerThreads", 4, 1, 256);
  static final Setting SCHEDULER_TIMER_THREADS = Setting.ofInt("scheduler.timerThreads", 2, 1, 32);

  static final Setting ASYNC_RETENTION =
      Setting.ofDuration("async.retention", Duration.ofHours(24), Duration.ofMinutes(1));
  static final Setting ASYNC_PARTITIONS = Setting.ofInt("async.partitions", 3, 1, 1000);
  static final Setting ASYNC_CONCURRENCY = Setting.ofInt("async.concurrency", 8, 1, 256);

  static final Setting TRIGGERS_PARTITIONS = Setting.ofInt("triggers.partitions", 3, 1, 1000);

  static final Setting PLATFORM_DEPLOY_SAMPLE = Setting.ofBoolean("platform.deploySample", true);
  static final Setting PLATFORM_SAMPLE_TIMEOUT = Setting.ofDuration(
      "platform.sampleTimeout", Duration.ofMinutes(10), Duration.ofSeconds(1));

  /** Every key, in the order of {@value #REFERENCE}. */
  static final List<Setting> ALL = List.of(
      GATEWAY_HOST, GATEWAY_PORT, GATEWAY_MAX_BODY_BYTES, GATEWAY_MAX_DEPLOY_BYTES,
      GATEWAY_IDLE_TIMEOUT, GATEWAY_SHUTDOWN_GRACE, GATEWAY_QUEUE_ALLOWANCE,
      GATEWAY_MAX_CONNECTIONS, GATEWAY_MAX_CONNECTIONS_PER_CLIENT, GATEWAY_REQUEST_HEADER_TIMEOUT,
      KAFKA_BOOTSTRAP_SERVERS, KAFKA_PORT, KAFKA_DATA_DIR, KAFKA_CLIENT_PROPERTIES,
      POOL_SIZE, POOL_MIN, POOL_MAX, POOL_BOOTS_IN_FLIGHT, POOL_HEALTH_INTERVAL, POOL_MAX_AGE,
      POOL_MAX_IMAGES_PER_TD, POOL_DRAIN_TIMEOUT, POOL_BOOT_TIMEOUT, POOL_LIVENESS_LIMIT, POOL_STOP_GRACE,
      POOL_BACKEND, POOL_ACCELERATOR, POOL_MEMORY_PER_TD, POOL_VCPUS_PER_TD, POOL_QEMU,
      POOL_GUEST_KERNEL, POOL_TDX_FIRMWARE, POOL_TDX_QUOTE_SOCKET, POOL_ATTEST_TIMEOUT,
      POOL_INSPECT_TIMEOUT, POOL_FUNCTION_INIT_TIMEOUT,
      SCHEDULER_QUEUE_CAPACITY, SCHEDULER_KEEP_ALIVE, SCHEDULER_MAX_INSTANCES_PER_TD,
      SCHEDULER_MAX_COLD_STARTS, SCHEDULER_LOAD_TIMEOUT, SCHEDULER_INVOKE_GRACE, SCHEDULER_TICK,
      SCHEDULER_WORKER_THREADS, SCHEDULER_TIMER_THREADS,
      ASYNC_RETENTION, ASYNC_PARTITIONS, ASYNC_CONCURRENCY,
      TRIGGERS_PARTITIONS,
      PLATFORM_DEPLOY_SAMPLE, PLATFORM_SAMPLE_TIMEOUT);

  private static final Map<String, Setting> BY_KEY = new LinkedHashMap<>();
  private static final Set<String> SECTIONS = new LinkedHashSet<>();

  static {
    for (Setting s : ALL) {
      if (BY_KEY.put(s.key(), s) != null) {
        throw new AssertionError("setting listed twice: " + s.key());
      }
      SECTIONS.add(s.section());
    }
  }

  /** A value and where it came from ({@code null} for the built-in default). */
  private record Value(Object value, String origin) {}

  private final Path dataDir;
  private final Map<Setting, Value> values;

  private Settings(Path dataDir, Map<Setting, Value> values) {
    this.dataDir = dataDir;
    this.values = values;
  }

  /**
   * Reads the settings: the defaults, {@value #FILE_NAME} in {@code dataDir} when it exists, the
   * {@code CONFAAS_<SECTION>_<KEY>} variables of {@code env}, then {@code flags} (keyed by setting
   * key, e.g. {@code pool.size}; the values as typed on the command line).
   *
   * @throws SettingsException listing every problem found, each naming its key
   */
  public static Settings load(Path dataDir, Map<String, String> env, Map<String, String> flags) {
    Path data = dataDir.toAbsolutePath().normalize();
    Map<Setting, Value> values = new LinkedHashMap<>();
    for (Setting s : ALL) {
      values.put(s, new Value(s.defaultValue(), null));
    }
    List<String> problems = new ArrayList<>();
    Path file = data.resolve(FILE_NAME);
    readFile(file, values, problems);
    readEnv(env, values, problems);
    for (Map.Entry<String, String> f : new TreeMap<>(flags).entrySet()) {
      Setting s = BY_KEY.get(f.getKey());
      if (s == null) {
        throw new IllegalArgumentException("no setting " + f.getKey() + " for a flag to set");
      }
      put(s, f.getValue(), "the command line", values, problems);
    }
    Settings settings = new Settings(data, values);
    if (problems.isEmpty()) {
      settings.checkTogether(problems);
    }
    if (!problems.isEmpty()) {
      throw new SettingsException(file, problems);
    }
    return settings;
  }

  private static void readFile(Path file, Map<Setting, Value> values, List<String> problems) {
    if (!Files.exists(file)) {
      return;
    }
    JsonNode root;
    try {
      root = YAMLMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build()
          .readTree(file.toFile());
    } catch (JacksonException e) {
      JsonLocation at = e.getLocation();
      problems.add(FILE_NAME + (at == null ? "" : " line " + at.getLineNr()) + ": not valid YAML ("
          + e.getOriginalMessage() + ")");
      return;
    } catch (IOException e) {
      problems.add(FILE_NAME + ": cannot be read (" + e.getMessage() + ")");
      return;
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return; // empty, or every line commented out
    }
    if (!root.isObject()) {
      problems.add(FILE_NAME + ": expected sections (" + String.join(", ", SECTIONS)
          + ") at the top level, was " + describe(root));
      return;
    }
    String origin = FILE_NAME;
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> section = it.next();
      String name = section.getKey();
      JsonNode body = section.getValue();
      if (BY_KEY.containsKey(name)) {
        problems.add(name + ": write it nested, a line '" + name.substring(0, name.indexOf('.'))
            + ":' and under it '  " + name.substring(name.indexOf('.') + 1) + ": ...' ("
            + origin + ")");
        continue;
      }
      if (body.isNull()) {
        continue; // "pool:" with all its keys commented out
      }
      if (!body.isObject()) {
        problems.add(name + ": expected a section of keys, was " + describe(body) + " (" + origin
            + ")" + (SECTIONS.contains(name) ? "" : "; " + nearestHint(name, SECTIONS)));
        continue;
      }
      for (Iterator<Map.Entry<String, JsonNode>> keys = body.fields(); keys.hasNext(); ) {
        Map.Entry<String, JsonNode> k = keys.next();
        String key = name + "." + k.getKey();
        Setting s = BY_KEY.get(key);
        if (s == null) {
          problems.add(
              key + ": unknown key (" + origin + "); " + nearestHint(key, BY_KEY.keySet()));
          continue;
        }
        JsonNode v = k.getValue();
        if (!v.isValueNode()) {
          problems.add(key + ": expected " + s.kind().expected + ", was " + describe(v) + " ("
              + origin + ")");
          continue;
        }
        put(s, v.isNull() ? "" : v.asText(), origin, values, problems);
      }
    }
  }

  private static void readEnv(Map<String, String> env, Map<Setting, Value> values,
      List<String> problems) {
    Map<String, Setting> byVar = new HashMap<>();
    for (Setting s : ALL) {
      byVar.put(s.envVar(), s);
    }
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String var = e.getKey();
      if (e.getValue() == null || e.getValue().isEmpty()) {
        continue; // an empty variable leaves the setting as the file or default has it
      }
      Setting s = byVar.get(var);
      if (s != null) {
        put(s, e.getValue(), var, values, problems);
      } else if (looksLikeASetting(var)) {
        problems.add(var + ": this environment variable names no setting; "
            + nearestHint(var, byVar.keySet()));
      }
    }
  }

  /** {@code CONFAAS_POOL_...}: a setting's variable, perhaps misspelt (not CONFAAS_DATA_DIR). */
  private static boolean looksLikeASetting(String var) {
    for (String section : SECTIONS) {
      if (var.startsWith("CONFAAS_" + section.toUpperCase(Locale.ROOT) + "_")) {
        return true;
      }
    }
    return false;
  }

  private static void put(Setting s, String text, String origin, Map<Setting, Value> values,
      List<String> problems) {
    try {
      values.put(s, new Value(s.parse(text), origin));
    } catch (IllegalArgumentException e) {
      problems.add(s.key() + ": " + e.getMessage() + " (" + origin + ")");
    }
  }

  /** The rules that involve more than one key. */
  private void checkTogether(List<String> problems) {
    int max = poolMax();
    if (get(POOL_SIZE, Integer.class) > max) {
      problems.add(POOL_SIZE.key() + ": must not exceed pool.max (" + max + "), was "
          + get(POOL_SIZE, Integer.class) + originOf(POOL_SIZE));
    }
    if (get(POOL_MIN, Integer.class) > max) {
      problems.add(POOL_MIN.key() + ": must not exceed pool.max (" + max + "), was "
          + get(POOL_MIN, Integer.class) + originOf(POOL_MIN));
    }
  }

  private String originOf(Setting s) {
    String origin = values.get(s).origin();
    return origin == null ? " (the default)" : " (" + origin + ")";
  }

  private static String describe(JsonNode n) {
    if (n.isObject()) {
      return "a section";
    }
    if (n.isArray()) {
      return "a list";
    }
    return "\"" + n.asText() + "\"";
  }

  /** "did you mean X?" for the known name nearest to {@code name}. */
  static String nearestHint(String name, Iterable<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = editDistance(name.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return "did you mean " + best + "?";
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int swap = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + swap);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  <T> T get(Setting s, Class<T> type) {
    return type.cast(values.get(Objects.requireNonNull(s, "setting")).value());
  }

  int intValue(Setting s) {
    return get(s, Integer.class);
  }

  long bytes(Setting s) {
    return get(s, Long.class);
  }

  Duration duration(Setting s) {
    return get(s, Duration.class);
  }

  String string(Setting s) {
    return get(s, String.class);
  }

  /** The data directory these settings were read for. */
  public Path dataDir() {
    return dataDir;
  }

  /** Where the settings file is (whether or not it exists). */
  public Path file() {
    return dataDir.resolve(FILE_NAME);
  }

  public String gatewayHost() {
    return string(GATEWAY_HOST);
  }

  public int gatewayPort() {
    return intValue(GATEWAY_PORT);
  }

  /** An external cluster's {@code bootstrap.servers}, or {@code null} for the embedded broker. */
  public String kafkaBootstrapServers() {
    String v = string(KAFKA_BOOTSTRAP_SERVERS);
    return v.isBlank() ? null : v;
  }

  public boolean deploySample() {
    return get(PLATFORM_DEPLOY_SAMPLE, Boolean.class);
  }

  /** How long {@code confaas up} waits for the sample's first answer before it gives up saying so. */
  public Duration sampleTimeout() {
    return duration(PLATFORM_SAMPLE_TIMEOUT);
  }

  private int poolMax() {
    int max = intValue(POOL_MAX);
    return max != 0 ? max : Math.max(POOL_DEFAULTS.max(), 4 * intValue(POOL_SIZE));
  }

  /** The TD backend: {@code process}, {@code qemu} or {@code qemu-tdx}. */
  public String poolBackend() {
    return string(POOL_BACKEND);
  }

  /**
   * The limits of each step of a TD's life: those set (not 0), else the defaults of {@code
   * backend} on {@code accelerator} ({@link TdTimeouts#of}).
   */
  public TdTimeouts tdTimeouts(String backend, String accelerator) {
    TdTimeouts d = TdTimeouts.of(backend, accelerator);
    return new TdTimeouts(
        orDerived(POOL_BOOT_TIMEOUT, d.boot()),
        orDerived(POOL_ATTEST_TIMEOUT, d.attest()),
        orDerived(POOL_INSPECT_TIMEOUT, d.inspect()),
        orDerived(POOL_FUNCTION_INIT_TIMEOUT, d.functionInit()),
        orDerived(SCHEDULER_LOAD_TIMEOUT, d.load()),
        orDerived(SCHEDULER_INVOKE_GRACE, d.invokeGrace()),
        orDerived(GATEWAY_QUEUE_ALLOWANCE, d.queueAllowance()));
  }

  private Duration orDerived(Setting s, Duration derived) {
    Duration v = duration(s);
    return v.isZero() ? derived : v;
  }

  /** The warm pool's sizes and upkeep, with the {@code process} backend's limits. */
  public PoolConfig pool() {
    return pool(tdTimeouts("process", "none"));
  }

  /** The warm pool's sizes and upkeep, with the health check's Inspect limit of {@code t}. */
  public PoolConfig pool(TdTimeouts t) {
    return new PoolConfig(intValue(POOL_SIZE), intValue(POOL_MIN), poolMax(),
        intValue(POOL_BOOTS_IN_FLIGHT), duration(POOL_HEALTH_INTERVAL), duration(POOL_MAX_AGE),
        intValue(POOL_MAX_IMAGES_PER_TD), duration(POOL_DRAIN_TIMEOUT),
        duration(POOL_LIVENESS_LIMIT), t.inspect());
  }

  /** How the scheduler queues, places and scales, with the {@code process} backend's limits. */
  public SchedulerConfig scheduler() {
    return scheduler(tdTimeouts("process", "none"));
  }

  /** How the scheduler queues, places and scales, with the load and invoke limits of {@code t}. */
  public SchedulerConfig scheduler(TdTimeouts t) {
    return new SchedulerConfig(intValue(SCHEDULER_QUEUE_CAPACITY), duration(SCHEDULER_KEEP_ALIVE),
        intValue(SCHEDULER_MAX_INSTANCES_PER_TD), intValue(SCHEDULER_MAX_COLD_STARTS),
        t.load(), t.invokeGrace(), duration(SCHEDULER_TICK));
  }

  /** One line per setting that is not at its default: {@code pool.size=4 (the command line)}. */
  public List<String> changed() {
    List<String> out = new ArrayList<>();
    for (Setting s : ALL) {
      Value v = values.get(s);
      if (v.origin() != null && !v.value().equals(s.defaultValue())) {
        out.add(s.key() + "=" + s.format(v.value()) + " (" + v.origin() + ")");
      }
    }
    return out;
  }

  /** The text of {@value #REFERENCE}: every key with its default and meaning. */
  public static String referenceText() {
    try (InputStream in = Settings.class.getResourceAsStream("/" + REFERENCE)) {
      if (in == null) {
        throw new IllegalStateException(REFERENCE + " is missing from the platform's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + REFERENCE, e);
    }
  }

  /**
   * Writes {@value #FILE_NAME} into {@code dataDir} when there is none: the reference with every
   * setting commented out, so it changes nothing until an operator uncomments a line (and a later
   * release's new defaults still apply to the keys left commented).
   *
   * @return whether the file was written
   */
  public static boolean writeCommentedDefaults(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE_NAME);
    if (Files.exists(file)) {
      return false;
    }
    StringBuilder out = new StringBuilder();
    for (String line : referenceText().split("\n", -1)) {
      boolean setting = !line.isBlank() && !line.stripLeading().startsWith("#");
      out.append(setting ? "#" + line : line).append('\n');
    }
    Files.createDirectories(dataDir);
    Path tmp = Files.createTempFile(dataDir, ".confaas-", ".yaml.tmp");
    try {
      Files.writeString(tmp, out.toString().stripTrailing() + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return true;
  }

  /** The keys, as the settings know them, sorted: for the reference file's test. */
  static List<String> keys() {
    return BY_KEY.keySet().stream().sorted(Comparator.naturalOrder()).toList();
  }
}
