package dev.confaas.pool;

import dev.confaas.agent.AgentClient;
import java.util.List;

/**
 * An attested TD handed out by {@link WarmPool#acquire()}. The holder sends work through {@link
 * #agent()} (over the channel pinned to the attested key), tells the pool what it loaded ({@link #recordLoaded}),
 * stops placing new work once {@link #acceptsWork()} turns false (draining, recycled, dead), and gives
 * it back with {@link WarmPool#release} or {@link WarmPool#retire}.
 */
public final class PooledTd {
  private final WarmPool pool;
  private final WarmPool.Entry entry;

  PooledTd(WarmPool pool, WarmPool.Entry entry) {
    this.pool = pool;
    this.entry = entry;
  }

  public String id() {
    return entry.id;
  }

  public String backend() {
    return entry.backend;
  }

  /** The client of the TD's agent, over the channel pinned to its attested identity key. */
  public AgentClient agent() {
    return entry.attested().agent();
  }

  /** The attestation behind this TD (quote verification, RTMR3 log, when). */
  public AttestedTd attested() {
    return entry.attested();
  }

  /** The TD's HPKE sealing public key, bound by its attested quote (what callers seal to). */
  public byte[] sealingPublicKey() {
    return entry.attested().sealingPublicKey();
  }

  /** Images loaded into this TD so far, in load order. */
  public List<String> loadedImages() {
    return pool.loadedImages(entry);
  }

  /**
   * Records that the agent accepted (and measured) an image; counts towards {@code
   * maxImagesPerTd} and lets the pool drain TDs holding a stale image.
   */
  public void recordLoaded(String imageId) {
    pool.recordLoaded(entry, imageId);
  }

  /**
   * Records that the agent measured {@code imageId} into RTMR3 (or may have: its answer was lost)
   * and the load then failed, e.g. a layer it refused. The image is not listed as loaded, and the TD
   * is drained: it takes no new work and is recycled once given back, since its RTMR3 now names an
   * image it does not run and its policy graph may hold one placement does not know of.
   */
  public void refusedAfterMeasuring(String imageId, String why) {
    pool.refusedAfterMeasuring(entry, imageId, why);
  }

  /** False once the TD is draining, stopped or dead: place nothing new on it. */
  public boolean acceptsWork() {
    return pool.acceptsWork(entry);
  }

  /** False once the TD's process or VM has exited. */
  public boolean isAlive() {
    return entry.attested().isAlive();
  }

  WarmPool.Entry entry() {
    return entry;
  }

  @Override
  public String toString() {
    return "PooledTd[" + entry.id + "]";
  }
}
