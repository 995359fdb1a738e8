package dev.confaas.gateway.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.confaas.gateway.Problem;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * The management routes for triggers, as a Vert.x sub-router. The gateway mounts it behind the
 * management token:
 *
 * <pre>{@code
 * main.route("/v1/triggers*").subRouter(TriggerApi.router(vertx, triggers, registry::exists));
 * }</pre>
 *
 * <ul>
 *   <li>{@code POST /v1/triggers} with a trigger as JSON (see {@link TriggerSpec}; only {@code
 *       function} and {@code topic} are required): {@code 201} with the stored trigger and its ID;
 *       missing topics are created.
 *   <li>{@code GET /v1/triggers}: {@code {"triggers":[...]}}.
 *   <li>{@code GET /v1/triggers/{id}}: the trigger with where it stands: {@code state} ({@code
 *       STARTING}, {@code RUNNING}, {@code RESTARTING}, {@code STOPPED}), {@code running} ({@code
 *       state} is {@code RUNNING}), {@code lastError} and {@code lastErrorAt}, {@code restarts},
 *       {@code inFlight}, {@code pausedPartitions}, {@code lag} ({@code {"<partition>": records}})
 *       and {@code lagAt} (when the lag was read from the broker).
 *   <li>{@code DELETE /v1/triggers/{id}}: {@code 204}; the consumer group's offsets stay.
 * </ul>
 *
 * Errors are {@link Problem}s ({@code application/problem+json}): {@code INVALID_JSON} or {@code
 * INVALID_TRIGGER} (400), {@code NOT_FOUND} (404, no such trigger or function), {@code
 * TRIGGER_CONFLICT} (409, a trigger already consumes that topic as that group) or {@code
 * UNAVAILABLE} (503, Kafka unreachable). Everything that touches Kafka or the trigger file runs
 * off the event loop.
 */
public final class TriggerApi {
  private TriggerApi() {}

  public static Router router(Vertx vertx, TriggerManager manager, Predicate<String> functionExists) {
    Router r = Router.router(vertx);
    r.route().handler(BodyHandler.create().setBodyLimit(64 * 1024));
    r.post("/").handler(ctx -> create(vertx, manager, functionExists, ctx));
    r.get("/").handler(ctx -> blocking(vertx, ctx, () -> {
      ObjectNode out = TriggerJson.MAPPER.createObjectNode();
      ArrayNode list = out.putArray("triggers");
      manager.list().forEach(s -> list.add(TriggerJson.spec(s)));
      return new Reply(200, out);
    }));
    r.get("/:id").handler(ctx -> blocking(vertx, ctx, () -> {
      String id = ctx.pathParam("id");
      Optional<TriggerManager.Status> st = manager.status(id);
      if (st.isEmpty()) {
        return Reply.problem(Problem.Reason.NOT_FOUND,
            "no trigger '" + id + "'; list them with GET /v1/triggers");
      }
      TriggerManager.Status s = st.get();
      ObjectNode out = TriggerJson.spec(s.spec());
      out.put("state", s.state());
      out.put("running", s.running());
      out.put("lastError", s.lastError());
      out.put("lastErrorAt", s.lastErrorAt() == null ? null : s.lastErrorAt().toString());
      out.put("restarts", s.restarts());
      out.put("inFlight", s.inFlight());
      out.put("pausedPartitions", s.pausedPartitions());
      ObjectNode lag = out.putObject("lag");
      s.lag().forEach((p, n) -> lag.put(Integer.toString(p), n));
      out.put("lagAt", s.lagAt() == null ? null : s.lagAt().toString());
      return new Reply(200, out);
    }));
    r.delete("/:id").handler(ctx -> blocking(vertx, ctx, () -> {
      String id = ctx.pathParam("id");
      return manager.remove(id) ? new Reply(204, null)
          : Reply.problem(Problem.Reason.NOT_FOUND,
              "no trigger '" + id + "'; list them with GET /v1/triggers");
    }));
    return r;
  }

  private static void create(Vertx vertx, TriggerManager manager, Predicate<String> exists, RoutingContext ctx) {
    JsonNode body;
    TriggerSpec spec;
    try {
      body = TriggerJson.MAPPER.readTree(ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
      spec = TriggerJson.spec(body, TriggerSpec.Event.VALUE);
    } catch (IOException e) {
      send(ctx, Reply.problem(Problem.Reason.INVALID_JSON,
          "the body must be a JSON trigger: " + e.getMessage()));
      return;
    } catch (IllegalArgumentException e) {
      send(ctx, Reply.problem(Problem.Reason.INVALID_TRIGGER, e.getMessage()));
      return;
    }
    blocking(vertx, ctx, () -> {
      if (!exists.test(spec.function())) {
        return Reply.problem(Problem.Reason.NOT_FOUND,
            "no function '" + spec.function() + "'; deploy it before adding a trigger");
      }
      try {
        return new Reply(201, TriggerJson.spec(manager.add(spec)), null);
      } catch (TriggerManager.ConflictException e) {
        return Reply.problem(Problem.Reason.TRIGGER_CONFLICT, e.getMessage());
      } catch (IllegalArgumentException e) {
        return Reply.problem(Problem.Reason.INVALID_TRIGGER, e.getMessage());
      }
    });
  }

  private record Reply(int status, JsonNode body, Problem problem) {
    Reply(int status, JsonNode body) {
      this(status, body, null);
    }

    static Reply problem(Problem.Reason reason, String detail) {
      return new Reply(reason.status(), null, Problem.of(reason, detail));
    }
  }

  private static void blocking(Vertx vertx, RoutingContext ctx, Callable<Reply> work) {
    vertx.<Reply>executeBlocking(() -> {
          try {
            return work.call();
          } catch (IllegalStateException e) {
            return Reply.problem(Problem.Reason.UNAVAILABLE, e.getMessage());
          }
        }, false)
        .onComplete(ar -> send(ctx, ar.succeeded() ? ar.result()
            : Reply.problem(Problem.Reason.INTERNAL, "the trigger request failed: " + ar.cause())));
  }

  private static void send(RoutingContext ctx, Reply reply) {
    if (reply.problem() != null) {
      reply.problem().send(ctx);
      return;
    }
    var resp = ctx.response().setStatusCode(reply.status());
    if (reply.body() == null) {
      resp.end();
      return;
    }
    resp.putHeader("content-type", "application/json").end(reply.body().toString());
  }
}
