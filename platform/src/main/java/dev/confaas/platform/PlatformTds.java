package dev.confaas.platform;

import dev.confaas.agent.TdEvidence;
import dev.confaas.gateway.TdDirectory;
import dev.confaas.pool.TdInfo;
import dev.confaas.pool.TdLogStreams;
import dev.confaas.pool.WarmPool;
import dev.confaas.scheduler.Scheduler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The gateway's view of the TDs: the warm pool's list and evidence, the scheduler's warm
 * instances. Only reads and one start ({@link #prepare}); nothing here decides anything.
 */
final class PlatformTds implements TdDirectory {
  private final WarmPool pool;
  private final Scheduler scheduler;
  private final Supplier<TdLogStreams> logStreams;

  /** @param logStreams the TDs' log streams once they are followed (null before) */
  PlatformTds(WarmPool pool, Scheduler scheduler, Supplier<TdLogStreams> logStreams) {
    this.pool = pool;
    this.scheduler = scheduler;
    this.logStreams = logStreams;
  }

  @Override
  public JsonArray list() {
    JsonArray a = new JsonArray();
    TdLogStreams streams = logStreams.get();
    for (TdInfo td : pool.tds()) {
      JsonObject logStream = streams == null ? null : streams.status(td.id())
          .map(st -> new JsonObject().put("state", st.state().name()).put("lines", st.lines())
              .put("dropped", st.dropped()).put("restarts", st.restarts())
              .put("lastError", st.lastError()))
          .orElse(null);
      a.add(new JsonObject()
          .put("id", td.id())
          .put("backend", td.backend())
          .put("accelerator", td.accelerator())
          .put("state", td.state().name())
          .put("ageSeconds", td.age().toSeconds())
          .put("loadedImages", new JsonArray(List.copyOf(td.loadedImages())))
          .put("rtmr3Log", new JsonArray(List.copyOf(td.rtmr3Log())))
          .put("lastAttested", td.lastAttested() == null ? null : td.lastAttested().toString())
          .put("reason", td.reason())
          .put("logStream", logStream)
          .put("evidence", "/v1/tds/" + td.id() + "/evidence"));
    }
    return a;
  }

  @Override
  public Optional<byte[]> evidence(String tdId) {
    return pool.evidence(tdId).map(TdEvidence::toJson);
  }

  @Override
  public List<String> warmTds(String function, String imageId) {
    return scheduler.tdsWithWarmInstances(function, imageId);
  }

  @Override
  public CompletableFuture<Void> prepare(String function, String version) {
    return scheduler.prepare(function, version);
  }
}
