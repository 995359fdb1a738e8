package dev.confaas.gateway.kafka;

import dev.confaas.scheduler.FunctionInvoker;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Runs one {@link TriggerRunner} per stored trigger. Triggers are added and removed here (and so
 * through {@link TriggerApi}); {@link #start()} resumes the stored ones after a restart.
 *
 * <p>Takes {@link KafkaClients}, not an {@link EmbeddedKafka}: an external cluster works the
 * same.
 */
public final class TriggerManager implements AutoCloseable {
  private final TriggerStore store;
  private final String bootstrapServers;
  private final KafkaClients clients;
  private final FunctionInvoker invoker;
  private final MeterRegistry registry;
  private final Clock clock;
  private final TriggerRunner.Options options;
  private final int defaultPartitions;
  private final Map<String, TriggerRunner> runners = new LinkedHashMap<>();
  private Admin admin;
  private boolean closed;

  /**
   * @param defaultPartitions partitions of topics this manager creates because they did not exist
   */
  public TriggerManager(
      TriggerStore store,
      KafkaClients clients,
      FunctionInvoker invoker,
      MeterRegistry registry,
      Clock clock,
      int defaultPartitions) {
    this(store, clients, invoker, registry, clock, defaultPartitions, TriggerRunner.Options.defaults());
  }

  TriggerManager(
      TriggerStore store,
      KafkaClients clients,
      FunctionInvoker invoker,
      MeterRegistry registry,
      Clock clock,
      int defaultPartitions,
      TriggerRunner.Options options) {
    this.store = store;
    this.bootstrapServers = clients.bootstrapServers();
    this.clients = clients;
    this.invoker = invoker;
    this.registry = registry;
    this.clock = clock;
    this.options = options;
    this.defaultPartitions = defaultPartitions;
  }

  /** Starts a runner for every stored trigger. */
  public synchronized void start() {
    for (TriggerSpec s : store.all()) {
      if (!runners.containsKey(s.id())) {
        startRunner(s);
      }
    }
  }

  /**
   * Creates the trigger's missing topics (topic, reply and dead-letter topics), stores it and
   * starts it. Blocks on Kafka (without holding this manager, so status reads go on meanwhile):
   * call it off any event loop. Returns the stored spec with its ID.
   */
  public TriggerSpec add(TriggerSpec spec) {
    TriggerSpec s;
    synchronized (this) {
      s = spec.id() == null ? spec.withId("trg-" + UUID.randomUUID().toString().substring(0, 8)) : spec;
      checkAddable(s);
    }
    List<String> topics = new ArrayList<>(List.of(s.topic()));
    if (s.replyTopic() != null) {
      topics.add(s.replyTopic());
    }
    if (s.deadLetterTopic() != null) {
      topics.add(s.deadLetterTopic());
    }
    ensureTopics(topics);
    synchronized (this) {
      checkAddable(s); // again: another add may have won while the topics were created
      store.put(s);
      startRunner(s);
    }
    return s;
  }

  private void checkAddable(TriggerSpec s) {
    if (closed) {
      throw new IllegalStateException("trigger manager is closed");
    }
    if (store.get(s.id()).isPresent()) {
      throw new ConflictException("a trigger with id '" + s.id() + "' exists; remove it first");
    }
    for (TriggerSpec other : store.all()) {
      if (other.group().equals(s.group()) && other.topic().equals(s.topic())) {
        throw new ConflictException(
            "trigger " + other.id() + " already consumes topic '" + s.topic() + "' as group '" + s.group()
                + "'; choose another group");
      }
    }
  }

  /** Stops and forgets the trigger; false when there is none by that ID. Committed offsets stay. */
  public synchronized boolean remove(String id) {
    TriggerRunner r = runners.remove(id);
    if (r != null) {
      r.close();
    }
    return store.remove(id);
  }

  public synchronized List<TriggerSpec> list() {
    return store.all();
  }

  public synchronized Optional<TriggerSpec> get(String id) {
    return store.get(id);
  }

  /** Where a trigger stands now; empty when there is no such trigger. */
  public synchronized Optional<Status> status(String id) {
    return store.get(id).map(s -> {
      TriggerRunner r = runners.get(id);
      if (r == null) {
        return new Status(s, TriggerRunner.State.STOPPED.name(), null, null, 0, Map.of(), null, 0, 0);
      }
      return new Status(s, r.state().name(), r.lastError(), r.lastErrorAt(), r.restarts(), r.lag(), r.lagAt(),
          r.inFlight(), r.pausedPartitions());
    });
  }

  /**
   * Where a trigger stands, as its runner sees it now.
   *
   * @param state {@code STARTING} (no partitions yet, or waiting for the broker), {@code RUNNING},
   *     {@code RESTARTING} (its consumer failed: see {@code lastError}; a new one starts after a
   *     back-off) or {@code STOPPED}
   * @param lastError what last went wrong (a failed consumer, a write being retried), or {@code null}
   * @param restarts consumer sessions that failed and were restarted
   * @param lag per partition: records after the committed offset, as of {@code lagAt}
   * @param lagAt when the lag was last read from the broker ({@code null}: not yet)
   * @param pausedPartitions partitions not fetched now (back-pressure, full buffer, stalled)
   */
  public record Status(
      TriggerSpec spec,
      String state,
      String lastError,
      Instant lastErrorAt,
      long restarts,
      Map<Integer, Long> lag,
      Instant lagAt,
      int inFlight,
      int pausedPartitions) {
    /** Whether its consumer is consuming now. */
    public boolean running() {
      return state.equals(TriggerRunner.State.RUNNING.name());
    }
  }

  /** The trigger clashes with one that exists (same ID, or same topic and group). */
  public static final class ConflictException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    ConflictException(String message) {
      super(message);
    }
  }

  synchronized TriggerRunner runner(String id) {
    return runners.get(id);
  }

  /**
   * Creates those of {@code topics} that do not exist, with the default partition count and room for
   * records of the documented sizes ({@code max.message.bytes}, see {@link KafkaLimits}).
   */
  public void ensureTopics(List<String> topics) {
    Admin a = admin();
    try {
      Set<String> existing = new HashSet<>(a.listTopics().names().get(30, TimeUnit.SECONDS));
      List<NewTopic> missing = new ArrayList<>();
      for (String t : new java.util.LinkedHashSet<>(topics)) {
        if (!existing.contains(t)) {
          missing.add(new NewTopic(t, Optional.of(defaultPartitions), Optional.empty())
              .configs(KafkaLimits.topicConfig()));
        }
      }
      if (!missing.isEmpty()) {
        try {
          a.createTopics(missing).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not create topics " + topics + " on Kafka at " + bootstrapServers + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating topics " + topics, e);
    }
  }

  private synchronized Admin admin() {
    if (admin == null) {
      admin = Admin.create(clients.settings());
    }
    return admin;
  }

  private void startRunner(TriggerSpec s) {
    TriggerRunner r = new TriggerRunner(s.consumption(), new TopicRoute(s, clients, options.invocationTimeout()),
        clients, invoker, registry, clock, options);
    runners.put(s.id(), r);
    r.start();
  }

  /** Stops every runner (committing what is done); the triggers stay stored. */
  @Override
  public synchronized void close() {
    closed = true;
    runners.values().forEach(TriggerRunner::close);
    runners.clear();
    if (admin != null) {
      admin.close();
    }
  }
}
