package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.confaas.image.SigningKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's promise, tested where it is kept or broken: the event and the response of a sealed
 * invocation never exist in the clear on the host. A whole platform runs in this JVM (gateway,
 * scheduler, pool manager, Kafka broker; the agents, which stand for the TDs, are JVMs of their
 * own). Callers in JVMs of their own ({@link IsolatedCaller}) make one sealed invocation and three
 * controls — plain, asynchronous (through Kafka) and one to a function that writes its event to
 * its log — each with a marker of its own ({@link LeakMarkers}) that this JVM does not compute
 * until the evidence is taken. Then this JVM's heap is dumped ({@code live=false}: garbage
 * included), and the dump, the platform's output, the function logs, the metrics scrape, every file
 * under the data directory and every record on every Kafka topic are searched for each marker in
 * every encoding the host could hold it in. The controls are found (so the search works there);
 * the sealed event and response are found nowhere.
 */
class SealedPlaintextOffTheHostTest {
  @TempDir static Path data;
  @TempDir static Path work;

  private static final List<String> KINDS = List.of("sealed", "plain", "async", "logged");

  static {
    // The platform's own loggers at DEBUG, so its most talkative output is searched too (effective
    // when this class runs before another test of this JVM has created them).
    System.setProperty("org.slf4j.simpleLogger.log.dev.confaas", "debug");
  }

  @AfterAll
  static void quieter() {
    System.clearProperty("org.slf4j.simpleLogger.log.dev.confaas"); // for loggers made after this class
  }

  @Test
  void aSealedEventAndItsResponseAreNowhereOnTheHostWhileTheControlsAreFound() throws Exception {
    Path output = work.resolve("platform-output.log");
    PrintStream out = System.out;
    PrintStream err = System.err;
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    SecureRandom random = new SecureRandom();
    for (String kind : KINDS) {
      seeds.put(kind, random.generateSeed(16));
    }
    Path heap = Files.createDirectories(work.resolve("dump")).resolve("platform.hprof");
    byte[] metrics;
    byte[] functionLogs;
    byte[] kafka;
    try (OutputStream file = Files.newOutputStream(output)) {
      // Everything the platform prints (its progress and its logging, slf4j-simple on stderr).
      System.setOut(new PrintStream(new Tee(out, file), true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(new Tee(err, file), true, StandardCharsets.UTF_8));
      try (PlatformFixture p = PlatformFixture.start(data)) {
        SigningKeys author = SigningKeys.generate("author", Clock.systemUTC());
        // Both share stdout and stderr with the host as their log (ACON logFDs), as functions
        // `confaas deploy` builds do; only the second writes its event there.
        p.deployShell(work, "shout", author, "tr a-z A-Z", m -> m.addLogFD(1).addLogFD(2), null);
        p.deployShell(work, "shout-logged", author,
            "in=$(cat)\nprintf '%s\\n' \"$in\" >&2\nprintf '%s' \"$in\" | tr a-z A-Z",
            m -> m.addLogFD(1).addLogFD(2), null);

        call(p, "sealed", "shout", seeds);
        call(p, "plain", "shout", seeds);
        call(p, "async", "shout", seeds);
        call(p, "logged", "shout-logged", seeds);

        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
            .dumpHeap(heap.toString(), false);

        // Only now may this JVM read what may hold the markers.
        metrics = ok(p.get("/metrics")).body().getBytes(StandardCharsets.UTF_8);
        functionLogs = (ok(p.get("/v1/functions/shout/logs")).body()
            + ok(p.get("/v1/functions/shout-logged/logs")).body()).getBytes(StandardCharsets.UTF_8);
        kafka = everyRecord(p);
      } finally {
        System.setOut(out);
        System.setErr(err);
      }
    }

    Map<String, byte[]> patterns = new LinkedHashMap<>();
    for (String kind : KINDS) {
      LeakMarkers.forms(LeakMarkers.eventText(kind, seeds.get(kind)))
          .forEach((form, bytes) -> patterns.put(kind + " event as " + form, bytes));
      LeakMarkers.forms(LeakMarkers.responseText(kind, seeds.get(kind)))
          .forEach((form, bytes) -> patterns.put(kind + " response as " + form, bytes));
    }
    LeakMarkers.Search search = new LeakMarkers.Search(patterns);

    Map<String, Set<String>> found = new TreeMap<>();
    found.put("heap dump (" + Files.size(heap) / (1 << 20) + " MiB)", search.in(heap));
    Set<String> logs = new TreeSet<>(search.in(output));
    logs.addAll(search.in(functionLogs));
    found.put("logs (platform output, function logs)", logs);
    found.put("metrics scrape", search.in(metrics));
    found.put("Kafka records (every topic)", search.in(kafka));
    Map<String, Set<String>> files = new TreeMap<>();
    try (Stream<Path> all = Files.walk(data)) {
      for (Path f : all.filter(Files::isRegularFile).toList()) {
        Set<String> inFile = search.in(f);
        if (!inFile.isEmpty()) {
          files.put(data.relativize(f).toString(), inFile);
        }
      }
    }
    Set<String> inFiles = new TreeSet<>();
    files.values().forEach(inFiles::addAll);
    found.put("files under the data directory", inFiles);
    String report = report(found, files);
    out.println(report);

    // The sealed event and response: nowhere on the host, in no encoding.
    found.forEach((where, seen) -> assertTrue(
        seen.stream().noneMatch(n -> n.startsWith("sealed ")),
        "the sealed invocation's plaintext is on the host, in the " + where + ":\n" + report));

    // The controls: the search finds what did pass through the host in the clear, in each place.
    assertTrue(found.get(heapKey(found)).stream().anyMatch(n -> !n.startsWith("sealed ")),
        "no control marker in the heap dump: the search cannot be trusted\n" + report);
    assertTrue(logs.contains("logged event as UTF-8"),
        "the event the control function logged is not in its log\n" + report);
    assertTrue(found.get("Kafka records (every topic)").stream()
            .anyMatch(n -> n.startsWith("async event as ")),
        "the asynchronous control's event is not on its Kafka topic\n" + report);
    assertTrue(inFiles.stream().anyMatch(n -> n.startsWith("async event as ")),
        "the asynchronous control's event is not in the broker's files under the data directory\n"
            + report);
    assertTrue(new String(metrics, StandardCharsets.UTF_8).contains("function=\"shout\""),
        "the metrics scrape has no series for the function: it was not the platform's");
  }

  private static String heapKey(Map<String, Set<String>> found) {
    return found.keySet().stream().filter(k -> k.startsWith("heap dump")).findFirst().orElseThrow();
  }

  /** Runs one {@link IsolatedCaller} to the end; its output goes to a file this JVM reads only on failure. */
  private static void call(PlatformFixture p, String kind, String function, Map<String, byte[]> seeds)
      throws Exception {
    Path log = work.resolve("caller-" + kind + ".log");
    ProcessBuilder pb = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        IsolatedCaller.class.getName(),
        p.url.toString(), kind, function,
        Base64.getUrlEncoder().withoutPadding().encodeToString(seeds.get(kind)),
        data.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("CONFAAS_TOKEN", p.token);
    Process proc = pb.start();
    if (!proc.waitFor(3, TimeUnit.MINUTES)) {
      proc.destroyForcibly();
      fail("the " + kind + " caller did not finish within 3 minutes");
    }
    assertEquals(0, proc.exitValue(),
        () -> "the " + kind + " caller failed:\n" + read(log));
  }

  private static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      return "(cannot read " + f + ": " + e + ")";
    }
  }

  private static HttpResponse<String> ok(HttpResponse<String> r) {
    assertEquals(200, r.statusCode(), () -> r.request().uri() + ": " + r.body());
    return r;
  }

  /** Keys, values and headers of every record on every topic (internal ones too), as the broker serves them. */
  private static byte[] everyRecord(PlatformFixture p) throws Exception {
    Properties props = new Properties();
    props.putAll(p.platform.kafkaPlatformClients().settings());
    List<TopicPartition> partitions = new ArrayList<>();
    try (Admin admin = Admin.create(props)) {
      Set<String> topics = admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
          .get(1, TimeUnit.MINUTES);
      for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get(1, TimeUnit.MINUTES).values()) {
        d.partitions().forEach(pi -> partitions.add(new TopicPartition(d.name(), pi.partition())));
      }
    }
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          fail("could not read every Kafka topic to its end within a minute: " + end);
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          all.writeBytes(r.key() == null ? new byte[0] : r.key());
          all.write('\n');
          all.writeBytes(r.value() == null ? new byte[0] : r.value());
          all.write('\n');
          for (Header h : r.headers()) {
            all.writeBytes(h.value() == null ? new byte[0] : h.value());
            all.write('\n');
          }
        }
      }
    }
    return all.toByteArray();
  }

  private static String report(Map<String, Set<String>> found, Map<String, Set<String>> files) {
    StringBuilder sb = new StringBuilder("where each marker was found:\n");
    found.forEach((where, seen) -> sb.append("  ").append(where).append(": ")
        .append(seen.isEmpty() ? "none" : seen).append('\n'));
    files.forEach((f, seen) -> sb.append("    file ").append(f).append(": ").append(seen).append('\n'));
    return sb.toString();
  }

  /** Writes to both streams. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int x) throws IOException {
      a.write(x);
      b.write(x);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public synchronized void flush() throws IOException {
      a.flush();
      b.flush();
    }
  }
}
