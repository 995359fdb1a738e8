package dev.confaas.gateway;

import dev.confaas.scheduler.DeployedFunction;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Optional;

/**
 * The evidence routes (docs/receipts.md §4): what a caller needs to verify a TD offline before it
 * seals an event to it, or to check a receipt. Unauthenticated reads: evidence holds nothing
 * secret (quotes, public keys, the RTMR3 log), and whoever asks must not need to trust the host
 * anyway. Only {@code ?prepare=true}, which starts an instance, asks for the function's invoke
 * token. Lookups run on worker threads.
 */
final class EvidenceRoutes {
  private final TdDirectory tds;
  private final FunctionRegistry registry;
  private final Auth auth;

  EvidenceRoutes(TdDirectory tds, FunctionRegistry registry, Auth auth) {
    this.tds = tds;
    this.registry = registry;
    this.auth = auth;
  }

  /** {@code GET /v1/tds/:id/evidence}: the TD's latest evidence document. */
  void td(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    ctx.vertx().executeBlocking(() -> tds.evidence(id), false).onComplete(ar -> {
      if (ar.failed()) {
        Problem.of(Problem.Reason.INTERNAL, "cannot read the evidence of TD " + id + ": "
            + ar.cause().getMessage()).send(ctx);
      } else if (ar.result().isEmpty()) {
        Problem.of(Problem.Reason.NOT_FOUND, "no TD " + id + " is in service (unknown, stopped or"
            + " not attested yet); GET /v1/functions/NAME/evidence lists the TDs serving a function")
            .send(ctx);
      } else {
        ctx.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end(Buffer.buffer(ar.result().get()));
      }
    });
  }

  /**
   * {@code GET /v1/functions/:name/evidence[?version=V][&prepare=true]}: the function's image ID and
   * the evidence of every TD holding a warm instance of it (with {@code prepare=true}, one is started
   * first when there is none).
   */
  void function(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String version = ctx.queryParams().get("version");
    boolean prepare = "true".equalsIgnoreCase(ctx.queryParams().get("prepare"));
    if (prepare && !auth.mayInvoke(ctx, name)) {
      Auth.unauthorized(ctx, "prepare=true starts an instance of function \"" + name + "\", so it"
          + " needs its invoke token; without prepare the evidence is public");
      return;
    }
    ctx.vertx().executeBlocking(() -> registry.resolve(name, version), false)
        .compose(d -> {
          if (d.isEmpty()) {
            return Future.succeededFuture((JsonObject) null);
          }
          Future<Void> ready = prepare
              ? Future.fromCompletionStage(tds.prepare(name, version), ctx.vertx().getOrCreateContext())
              : Future.succeededFuture();
          return ready.compose(x -> ctx.vertx().executeBlocking(() -> document(d.get()), false));
        })
        .onComplete(ar -> {
          if (ar.failed()) {
            Problem p = Problems.notRun(ar.cause());
            if (p.reason() == Problem.Reason.INTERNAL) {
              p = Problem.of(Problem.Reason.INTERNAL, "cannot gather the evidence of function \""
                  + name + "\": " + ar.cause().getMessage());
            }
            p.send(ctx);
          } else if (ar.result() == null) {
            Problem.of(Problem.Reason.NOT_FOUND, "no function \"" + name + "\""
                + (version == null ? "" : " version \"" + version + "\"") + " is deployed").send(ctx);
          } else {
            ctx.response().putHeader("Content-Type", "application/json")
                .putHeader("Cache-Control", "no-store")
                .end(ar.result().encode());
          }
        });
  }

  private JsonObject document(DeployedFunction d) {
    JsonArray evidence = new JsonArray();
    List<String> warm = tds.warmTds(d.name(), d.imageId());
    for (String td : warm) {
      Optional<byte[]> e = tds.evidence(td);
      e.ifPresent(bytes -> evidence.add(new JsonObject(Buffer.buffer(bytes))));
    }
    return new JsonObject()
        .put("function", d.name())
        .put("version", d.version())
        .put("imageId", d.imageId())
        .put("evidence", evidence);
  }
}
