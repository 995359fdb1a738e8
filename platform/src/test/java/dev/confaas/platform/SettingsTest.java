package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.confaas.pool.PoolConfig;
import dev.confaas.scheduler.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** confaas.yaml, CONFAAS_* variables and flags: who wins, and what an operator is told. */
class SettingsTest {
  @TempDir Path data;

  private void file(String yaml) throws IOException {
    Files.writeString(data.resolve(Settings.FILE_NAME), yaml);
  }

  private List<String> problems(Map<String, String> env, Map<String, String> flags) {
    SettingsException e =
        assertThrows(SettingsException.class, () -> Settings.load(data, env, flags));
    assertTrue(e.getMessage().startsWith("invalid settings: " + String.join("; ", e.problems())),
        e.getMessage());
    assertTrue(e.getMessage().contains(data.resolve(Settings.FILE_NAME).toString()),
        "the message says which file to fix: " + e.getMessage());
    return e.problems();
  }

  @Test
  void withNothingSetEveryValueIsTheBuiltInDefault() {
    Settings s = Settings.load(data, Map.of(), Map.of());
    PoolConfig d = PoolConfig.defaults();
    assertEquals(d, s.pool(), "pool.max 0 means the larger of 8 and 4 x pool.size, i.e. 8");
    assertEquals(SchedulerConfig.defaults(), s.scheduler());
    assertEquals("127.0.0.1", s.gatewayHost());
    assertEquals(8080, s.gatewayPort());
    assertNull(s.kafkaBootstrapServers(), "empty bootstrapServers means the embedded broker");
    assertTrue(s.deploySample());
    assertEquals(List.of(), s.changed());
  }

  @Test
  void laterSourcesWinKeyByKey() throws IOException {
    file("""
        gateway:
          port: 9000
        pool:
          size: 3
          healthInterval: 2s
        scheduler:
          queueCapacity: 50
        """);
    Map<String, String> env = Map.of(
        "CONFAAS_POOL_SIZE", "4",
        "CONFAAS_GATEWAY_PORT", "9001",
        "CONFAAS_SCHEDULER_KEEP_ALIVE", "30s",
        "CONFAAS_DATA_DIR", "/not/a/setting",
        "PATH", "/usr/bin");
    Settings s = Settings.load(data, env, Map.of("gateway.port", "9002"));

    assertEquals(9002, s.gatewayPort(), "a flag beats the environment and the file");
    assertEquals(4, s.pool().target(), "the environment beats the file");
    assertEquals(16, s.pool().max(), "pool.max 0 follows pool.size: 4 x 4");
    assertEquals(Duration.ofSeconds(2), s.pool().healthInterval(), "the file beats the default");
    assertEquals(50, s.scheduler().queueCapacity(), "the file beats the default");
    assertEquals(Duration.ofSeconds(30), s.scheduler().keepAlive(), "env beats the default");
    assertEquals(SchedulerConfig.defaults().loadTimeout(), s.scheduler().loadTimeout());
    assertEquals(
        List.of(
            "gateway.port=9002 (the command line)",
            "pool.size=4 (CONFAAS_POOL_SIZE)",
            "pool.healthInterval=2s (confaas.yaml)",
            "scheduler.queueCapacity=50 (confaas.yaml)",
            "scheduler.keepAlive=30s (CONFAAS_SCHEDULER_KEEP_ALIVE)"),
        s.changed());
  }

  @Test
  void aValueOutOfRangeNamesTheKeyTheRangeAndWhereItCameFrom() throws IOException {
    file("pool:\n  size: 100\n");
    assertEquals(List.of("pool.size: must be between 1 and 64, was 100 (confaas.yaml)"),
        problems(Map.of(), Map.of()));
    assertEquals(
        List.of(
            "pool.size: must be between 1 and 64, was 100 (confaas.yaml)",
            "pool.size: must be between 1 and 64, was 0 (CONFAAS_POOL_SIZE)"),
        problems(Map.of("CONFAAS_POOL_SIZE", "0"), Map.of()),
        "each source's value is checked and named; a broken file stays an error when overridden");
    Files.delete(data.resolve(Settings.FILE_NAME));
    assertEquals(List.of("pool.size: must be between 1 and 64, was 65 (the command line)"),
        problems(Map.of(), Map.of("pool.size", "65")));
  }

  @Test
  void aValueOfTheWrongKindSaysWhatWasExpected() throws IOException {
    file("""
        gateway:
          maxBodyBytes: 6MB
          port: [1, 2]
        scheduler:
          keepAlive: 10
        platform:
          deploySample: maybe
        """);
    assertEquals(
        List.of(
            "gateway.maxBodyBytes: expected a size in bytes such as 1048576, 512KiB, 6MiB or 1GiB,"
                + " was \"6MB\" (confaas.yaml)",
            "gateway.port: expected a whole number, was a list (confaas.yaml)",
            "scheduler.keepAlive: expected a duration such as 250ms, 30s, 10m, 1h or 1d,"
                + " was \"10\" (confaas.yaml)",
            "platform.deploySample: expected true or false, was \"maybe\" (confaas.yaml)"),
        problems(Map.of(), Map.of()));
  }

  @Test
  void everyProblemIsReportedAtOnce() throws IOException {
    file("pool:\n  size: 100\n");
    List<String> all = problems(Map.of("CONFAAS_SCHEDULER_TICK", "5ms"), Map.of());
    assertEquals(
        List.of(
            "pool.size: must be between 1 and 64, was 100 (confaas.yaml)",
            "scheduler.tick: must be at least 10ms, was 5ms (CONFAAS_SCHEDULER_TICK)"),
        all);
  }

  @Test
  void anUnknownKeyIsAnErrorThatNamesTheNearestKnownKey() throws IOException {
    file("""
        pool:
          sise: 3
        schedular:
          queueCapacity: 10
        """);
    assertEquals(
        List.of(
            "pool.sise: unknown key (confaas.yaml); did you mean pool.size?",
            "schedular.queueCapacity: unknown key (confaas.yaml);"
                + " did you mean scheduler.queueCapacity?"),
        problems(Map.of(), Map.of()));
  }

  @Test
  void aMisspeltEnvironmentVariableIsAnErrorOthersAreLeftAlone() {
    assertEquals(
        List.of("CONFAAS_POOL_SIZ: this environment variable names no setting;"
            + " did you mean CONFAAS_POOL_SIZE?"),
        problems(Map.of("CONFAAS_POOL_SIZ", "3", "CONFAAS_URL", "http://x", "CONFAAS_TOKEN", "t"),
            Map.of()));
  }

  @Test
  void aFlatKeyAtTheTopIsToldToNest() throws IOException {
    file("pool.size: 3\n");
    assertEquals(
        List.of("pool.size: write it nested, a line 'pool:' and under it '  size: ...'"
            + " (confaas.yaml)"),
        problems(Map.of(), Map.of()));
  }

  @Test
  void brokenYamlAndDuplicateKeysAreErrorsWithALine() throws IOException {
    file("pool:\n  size: 2\n  size: 3\n");
    List<String> dup = problems(Map.of(), Map.of());
    assertEquals(1, dup.size(), dup::toString);
    assertTrue(dup.get(0).startsWith("confaas.yaml line 3: not valid YAML (Duplicate field 'size'"),
        dup.get(0));

    file("pool:\n  size: [2\n");
    List<String> broken = problems(Map.of(), Map.of());
    assertTrue(broken.get(0).startsWith("confaas.yaml line "), broken.toString());
    assertTrue(broken.get(0).contains("not valid YAML"), broken.toString());
  }

  @Test
  void rulesAcrossKeysNameBoth() throws IOException {
    file("pool:\n  size: 6\n  max: 5\n");
    assertEquals(List.of("pool.size: must not exceed pool.max (5), was 6 (confaas.yaml)"),
        problems(Map.of(), Map.of()));
  }

  @Test
  void durationsAndSizesTakeTheirUsualForms() throws IOException {
    file("""
        gateway:
          maxBodyBytes: 512KiB
          maxDeployBytes: 1073741824
          idleTimeout: PT90S
        kafka:
          bootstrapServers: kafka1:9092,kafka2:9092
        pool:
          maxAge: 1d
        scheduler:
          tick: 100ms
        """);
    Settings s = Settings.load(data, Map.of(), Map.of());
    assertEquals(512L * 1024, s.bytes(Settings.GATEWAY_MAX_BODY_BYTES));
    assertEquals(1L << 30, s.bytes(Settings.GATEWAY_MAX_DEPLOY_BYTES));
    assertEquals(Duration.ofSeconds(90), s.duration(Settings.GATEWAY_IDLE_TIMEOUT));
    assertEquals(Duration.ofDays(1), s.pool().maxAge());
    assertEquals(Duration.ofMillis(100), s.scheduler().tick());
    assertEquals("kafka1:9092,kafka2:9092", s.kafkaBootstrapServers());
    assertTrue(s.changed().contains("gateway.maxDeployBytes=1GiB (confaas.yaml)"),
        s.changed()::toString);
  }

  @Test
  void environmentVariableNamesAreTheKeyInUpperSnakeCase() {
    assertEquals("CONFAAS_POOL_SIZE", Settings.POOL_SIZE.envVar());
    assertEquals("CONFAAS_POOL_MAX_IMAGES_PER_TD", Settings.POOL_MAX_IMAGES_PER_TD.envVar());
    assertEquals("CONFAAS_SCHEDULER_QUEUE_CAPACITY", Settings.SCHEDULER_QUEUE_CAPACITY.envVar());
    assertEquals("CONFAAS_KAFKA_BOOTSTRAP_SERVERS", Settings.KAFKA_BOOTSTRAP_SERVERS.envVar());
    for (Setting s : Settings.ALL) {
      assertFalse(List.of("CONFAAS_DATA_DIR", "CONFAAS_URL", "CONFAAS_TOKEN", "CONFAAS_DEBUG",
          "CONFAAS_JAVA_OPTS").contains(s.envVar()), s.key() + " takes a variable already in use");
    }
  }

  @Test
  void anEmptyFileOrAnEmptySectionChangesNothing() throws IOException {
    file("# nothing yet\n");
    assertEquals(List.of(), Settings.load(data, Map.of(), Map.of()).changed());
    file("pool:\n  # size: 4\nscheduler:\n");
    assertEquals(List.of(), Settings.load(data, Map.of(), Map.of()).changed());
  }

  /** Issue 14: the limits that follow the backend's pace are derived from it unless set. */
  @Test
  void limitsLeftAtZeroFollowTheBackendAndSetOnesWin() {
    Settings defaults = Settings.load(data, Map.of(), Map.of());
    assertEquals("process", defaults.poolBackend());
    assertEquals(dev.confaas.pool.TdTimeouts.of("qemu", "tcg"), defaults.tdTimeouts("qemu", "tcg"));
    assertTrue(defaults.tdTimeouts("qemu", "tcg").functionInit()
            .compareTo(defaults.tdTimeouts("process", "none").functionInit()) > 0,
        "a TCG guest gets a longer function init limit than a host process");
    assertEquals(Duration.ofSeconds(30), defaults.pool(defaults.tdTimeouts("qemu", "tcg"))
        .inspectTimeout());

    Settings set = Settings.load(data, Map.of("CONFAAS_POOL_BACKEND", "qemu"),
        Map.of("pool.functionInitTimeout", "45s", "scheduler.loadTimeout", "2m"));
    assertEquals("qemu", set.poolBackend(), "CONFAAS_POOL_BACKEND sets the backend");
    dev.confaas.pool.TdTimeouts t = set.tdTimeouts("qemu", "tcg");
    assertEquals(Duration.ofSeconds(45), t.functionInit());
    assertEquals(Duration.ofMinutes(2), set.scheduler(t).loadTimeout());
    assertEquals(dev.confaas.pool.TdTimeouts.of("qemu", "tcg").boot(), t.boot(), "not set: derived");
  }

  @Test
  void anUnknownBackendOrAcceleratorIsNamedWithTheChoices() {
    List<String> p = problems(Map.of("CONFAAS_POOL_ACCELERATOR", "hvf"),
        Map.of("pool.backend", "docker"));
    assertTrue(p.contains(
        "pool.backend: must be one of process, qemu, qemu-tdx, was \"docker\" (the command line)"),
        p.toString());
    assertTrue(p.contains(
        "pool.accelerator: must be one of auto, kvm, tcg, was \"hvf\" (CONFAAS_POOL_ACCELERATOR)"),
        p.toString());
  }
}
