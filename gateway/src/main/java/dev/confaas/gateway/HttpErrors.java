package dev.confaas.gateway;

import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.InvocationRejectedException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The gateway's JSON replies, error bodies and status codes, in one place so the README's table
 * stays true.
 */
final class HttpErrors {
  private HttpErrors() {}

  /** A function that timed out is a gateway timeout; every other function failure a bad gateway. */
  static int status(FunctionError e) {
    return e.kind() == FunctionError.Kind.TIMED_OUT ? 504 : 502;
  }

  static int status(InvocationRejectedException.Reason r) {
    return switch (r) {
      case NOT_FOUND -> 404;
      case OVERLOADED -> 429;
      case DEADLINE_EXCEEDED -> 504;
      case UNAVAILABLE, SHUTTING_DOWN -> 503;
    };
  }

  static JsonObject functionError(FunctionError e) {
    return new JsonObject()
        .put("kind", e.kind().name())
        .put("type", e.type())
        .put("message", e.message())
        .put("exitStatus", e.exitStatus());
  }

  static void json(RoutingContext ctx, int status, JsonObject o) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(o.encode());
  }

  static void send(HttpServerResponse resp, int status, String code, String message) {
    send(resp, status, new JsonObject().put("code", code).put("message", message));
  }

  static void send(HttpServerResponse resp, int status, JsonObject error) {
    if (resp.ended() || resp.closed()) {
      return;
    }
    resp.setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", error).encode());
  }
}
