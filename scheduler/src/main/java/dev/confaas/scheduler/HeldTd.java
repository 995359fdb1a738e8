package dev.confaas.scheduler;

import java.util.ArrayList;
import java.util.List;

/**
 * A TD the dispatcher holds from its {@link TdSource}, with the instances placed on it. What the
 * TD has loaded is not kept here: the pool records it ({@link TdSource.LeasedTd#heldImages}).
 * Guarded by the {@link Dispatcher}'s monitor.
 */
final class HeldTd {
  final TdSource.LeasedTd lease;
  /** Every instance placed here that is not GONE. */
  final List<Instance> instances = new ArrayList<>();

  HeldTd(TdSource.LeasedTd lease) {
    this.lease = lease;
  }

  String id() {
    return lease.id();
  }

  int count(Instance.State s) {
    int n = 0;
    for (Instance i : instances) {
      if (i.is(s)) {
        n++;
      }
    }
    return n;
  }

  int live() {
    int n = 0;
    for (Instance i : instances) {
      if (i.state().isLive()) {
        n++;
      }
    }
    return n;
  }

  /**
   * What placement sees loaded here: the pool's record plus the chains of starts reserved here, so
   * two starts in flight are judged against each other's images.
   */
  List<String> imagesWithReservations() {
    List<String> out = new ArrayList<>(lease.heldImages());
    for (Instance i : instances) {
      if (i.is(Instance.State.STARTING)) {
        for (ImageFacts f : i.chain) {
          if (!out.contains(f.imageId())) {
            out.add(f.imageId());
          }
        }
      }
    }
    return out;
  }

  int liveOfImage(String imageId) {
    int n = 0;
    for (Instance i : instances) {
      if (i.state().isLive() && i.fn.d.imageId().equals(imageId)) {
        n++;
      }
    }
    return n;
  }
}
