package dev.confaas.scheduler;

import java.time.Instant;
import java.util.List;

/**
 * One function instance, from the decision to start it until it is gone. Guarded by the {@link
 * Dispatcher}'s monitor; only the dispatcher moves it.
 *
 * <pre>
 * STARTING ──► IDLE ◄──► BUSY
 *    │          │         │
 *    │          ▼         │
 *    │       STOPPING     │
 *    ▼          ▼         ▼
 *   GONE ◄──────┴─────────┘
 * </pre>
 *
 * STARTING: a start is in flight (placed on a TD once {@link #td} is set, which reserves room and
 * its chain's images there). STOPPING: idle past keep-alive, the agent was asked to stop it. GONE:
 * failed to start, stopped, crashed, or its TD was given back or lost.
 */
final class Instance {

  enum State {
    STARTING,
    IDLE,
    BUSY,
    STOPPING,
    GONE;

    boolean mayBecome(State next) {
      return switch (this) {
        case STARTING -> next == IDLE || next == GONE;
        case IDLE -> next == BUSY || next == STOPPING || next == GONE;
        case BUSY -> next == IDLE || next == GONE;
        case STOPPING -> next == GONE;
        case GONE -> false;
      };
    }

    /** Counts against the function's and the TD's capacity. */
    boolean isLive() {
      return this == STARTING || this == IDLE || this == BUSY;
    }

    /** Started and serving. */
    boolean isWarm() {
      return this == IDLE || this == BUSY;
    }
  }

  final FunctionLane fn;
  /** The TD it must start in (for sealed invocations sent there), or null for wherever fits. */
  final String target;
  private State state = State.STARTING;
  /** Where it runs; set once, while STARTING. */
  HeldTd td;
  /** Its load chain, set with {@link #td}. */
  List<ImageFacts> chain = List.of();
  /** The agent's instance ID, set when it started. */
  String id;
  Instant lastUsed;

  Instance(FunctionLane fn, Instant now) {
    this(fn, now, null);
  }

  Instance(FunctionLane fn, Instant now, String target) {
    this.fn = fn;
    this.lastUsed = now;
    this.target = target;
  }

  State state() {
    return state;
  }

  boolean is(State s) {
    return state == s;
  }

  void moveTo(State next) {
    if (!state.mayBecome(next)) {
      throw new IllegalStateException(
          "instance " + this + " of \"" + fn.d.name() + "\" cannot go from " + state + " to " + next);
    }
    state = next;
  }

  @Override
  public String toString() {
    return (id == null ? "(starting)" : id) + "@" + (td == null ? "-" : td.lease.id()) + ":" + state;
  }
}
