package dev.confaas.scheduler;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One bounded FIFO queue per function, served round-robin: each {@link #poll} takes from the next
 * function after the one served last whose head may run, so a function with a thousand queued
 * events cannot starve one with a single event. Entries carry deadlines; {@link #expire} removes
 * those whose deadline passed. Not thread-safe: the dispatcher calls it under its monitor.
 *
 * @param <K> function key
 * @param <T> queued entry
 */
public final class FairQueues<K, T extends FairQueues.Deadlined> {

  /** A queued entry with the instant its caller stops waiting. */
  public interface Deadlined {
    Instant deadline();
  }

  private final int capacityPerKey;
  private final Map<K, Deque<T>> queues = new LinkedHashMap<>();
  private final List<K> order = new ArrayList<>();
  private int cursor;

  public FairQueues(int capacityPerKey) {
    if (capacityPerKey < 0) {
      throw new IllegalArgumentException("queue capacity must not be negative: " + capacityPerKey);
    }
    this.capacityPerKey = capacityPerKey;
  }

  /** Appends {@code entry} to {@code key}'s queue; false (and nothing queued) when it is full. */
  public boolean offer(K key, T entry) {
    Deque<T> q = queues.get(key);
    if (q == null) {
      q = new ArrayDeque<>();
      queues.put(key, q);
      order.add(key);
    }
    if (q.size() >= capacityPerKey) {
      return false;
    }
    q.addLast(entry);
    return true;
  }

  int depth(K key) {
    Deque<T> q = queues.get(key);
    return q == null ? 0 : q.size();
  }

  /** Keys with queued entries, starting with the one whose turn is next. */
  List<K> keysInTurn() {
    List<K> out = new ArrayList<>(order.size());
    for (int i = 0; i < order.size(); i++) {
      K k = order.get((cursor + i) % order.size());
      if (depth(k) > 0) {
        out.add(k);
      }
    }
    return out;
  }

  /**
   * The head of the next queue (round-robin) whose key {@code mayRun} admits, or null when none
   * does. The next poll starts after that key.
   */
  public T poll(Predicate<K> mayRun) {
    int n = order.size();
    for (int i = 0; i < n; i++) {
      int at = (cursor + i) % n;
      K k = order.get(at);
      Deque<T> q = queues.get(k);
      if (!q.isEmpty() && mayRun.test(k)) {
        cursor = (at + 1) % n;
        return q.pollFirst();
      }
    }
    return null;
  }

  /**
   * Shares {@code slots} of a scarce resource (cold starts) round-robin: one per key per round, in
   * turn order, while a key still wants more. Returns the keys in grant order (a key repeats when it
   * got more than one).
   */
  static <K> List<K> shareRoundRobin(List<K> inTurn, java.util.function.ToIntFunction<K> wanted, int slots) {
    Map<K, Integer> left = new LinkedHashMap<>();
    for (K k : inTurn) {
      left.put(k, Math.max(0, wanted.applyAsInt(k)));
    }
    List<K> out = new ArrayList<>();
    boolean progress = true;
    while (progress && out.size() < slots) {
      progress = false;
      for (Map.Entry<K, Integer> e : left.entrySet()) {
        if (out.size() >= slots) {
          break;
        }
        if (e.getValue() > 0) {
          out.add(e.getKey());
          e.setValue(e.getValue() - 1);
          progress = true;
        }
      }
    }
    return out;
  }

  /** Removes and returns every entry whose deadline is at or before {@code now}. */
  List<T> expire(Instant now) {
    List<T> out = new ArrayList<>();
    for (Deque<T> q : queues.values()) {
      for (Iterator<T> it = q.iterator(); it.hasNext(); ) {
        T t = it.next();
        if (!t.deadline().isAfter(now)) {
          it.remove();
          out.add(t);
        }
      }
    }
    return out;
  }

  /** Removes and returns all of {@code key}'s entries. */
  List<T> drain(K key) {
    Deque<T> q = queues.get(key);
    if (q == null) {
      return List.of();
    }
    List<T> out = new ArrayList<>(q);
    q.clear();
    return out;
  }

  /**
   * Drops {@code key}'s queue when it is empty, so keys that come and go (function versions) do not
   * pile up; false (nothing dropped) while it holds entries.
   */
  boolean forget(K key) {
    Deque<T> q = queues.get(key);
    if (q == null) {
      return true;
    }
    if (!q.isEmpty()) {
      return false;
    }
    queues.remove(key);
    int at = order.indexOf(key);
    order.remove(at);
    if (at < cursor) {
      cursor--;
    }
    if (cursor >= order.size()) {
      cursor = 0;
    }
    return true;
  }

  /** How many keys have a queue (empty or not). */
  int keys() {
    return order.size();
  }

  /** Removes and returns every entry. */
  List<T> drainAll() {
    List<T> out = new ArrayList<>();
    for (K k : order) {
      out.addAll(drain(k));
    }
    return out;
  }
}
