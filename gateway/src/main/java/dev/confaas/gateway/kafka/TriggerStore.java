package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The triggers that exist, kept in {@code triggers.json} under the platform's data directory so they
 * survive restarts. Every change rewrites the file atomically (write a sibling, then rename).
 */
public final class TriggerStore {
  /** The file name under the data directory. */
  public static final String FILE = "triggers.json";

  private final Path file;
  private final Map<String, TriggerSpec> triggers = new LinkedHashMap<>();

  /** Opens (or starts empty) the store in {@code dataDir}. */
  public TriggerStore(Path dataDir) {
    this.file = dataDir.resolve(FILE);
    if (Files.exists(file)) {
      try {
        JsonNode root = TriggerJson.MAPPER.readTree(file.toFile());
        if (!root.isArray()) {
          throw new IllegalStateException(file + " must hold a JSON array of triggers");
        }
        int i = 0;
        for (JsonNode n : root) {
          try {
            // Entries written before triggers chose their event format got the envelope.
            TriggerSpec s = TriggerJson.spec(n, TriggerSpec.Event.ENVELOPE);
            triggers.put(s.id(), s);
          } catch (IllegalArgumentException e) {
            throw new IllegalStateException(file + ": trigger [" + i + "] is invalid: " + e.getMessage(), e);
          }
          i++;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("could not read triggers from " + file, e);
      }
    }
  }

  public synchronized List<TriggerSpec> all() {
    return List.copyOf(triggers.values());
  }

  public synchronized Optional<TriggerSpec> get(String id) {
    return Optional.ofNullable(triggers.get(id));
  }

  /** Adds or replaces the trigger with {@code spec.id()} and writes the file. */
  public synchronized void put(TriggerSpec spec) {
    if (spec.id() == null) {
      throw new IllegalArgumentException("a stored trigger needs an id");
    }
    Map<String, TriggerSpec> next = new LinkedHashMap<>(triggers);
    next.put(spec.id(), spec);
    write(next);
    triggers.put(spec.id(), spec);
  }

  /** Removes the trigger; false when there was none by that ID. */
  public synchronized boolean remove(String id) {
    if (!triggers.containsKey(id)) {
      return false;
    }
    Map<String, TriggerSpec> next = new LinkedHashMap<>(triggers);
    next.remove(id);
    write(next);
    triggers.remove(id);
    return true;
  }

  private void write(Map<String, TriggerSpec> all) {
    ArrayNode array = TriggerJson.MAPPER.createArrayNode();
    new ArrayList<>(all.values()).forEach(s -> array.add(TriggerJson.spec(s)));
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(FILE + ".tmp");
      Files.write(tmp, TriggerJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(array));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write triggers to " + file, e);
    }
  }
}
