package dev.confaas.gateway;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads an invocation event as opaque bytes, up to a limit. Unlike Vert.x Web's {@code
 * BodyHandler} it never parses the body as a form (so an event sent as {@code
 * application/x-www-form-urlencoded} or {@code multipart/form-data}, as {@code curl -d} and browsers
 * do, reaches the function unchanged). Over the limit it answers 413 at once, without reading on.
 */
final class EventBody implements Handler<RoutingContext> {
  static final String KEY = "confaas.event";

  private final long limit;

  EventBody(long limit) {
    this.limit = limit;
  }

  /** The event {@link EventBody} read for this request. */
  static byte[] of(RoutingContext ctx) {
    Buffer b = ctx.get(KEY);
    return b == null ? new byte[0] : b.getBytes();
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String length = req.getHeader("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.strip()) > limit) {
          tooLarge(ctx);
          return;
        }
      } catch (NumberFormatException e) {
        Problem.of(Problem.Reason.BAD_REQUEST, "Content-Length \"" + length
            + "\" is not a number").send(ctx);
        return;
      }
    }
    Buffer body = Buffer.buffer();
    boolean[] refused = {false};
    req.handler(chunk -> {
      if (refused[0]) {
        return;
      }
      if (body.length() + (long) chunk.length() > limit) {
        refused[0] = true;
        tooLarge(ctx);
        return;
      }
      body.appendBuffer(chunk);
    });
    req.exceptionHandler(e -> {
      if (!refused[0]) {
        refused[0] = true;
        ctx.fail(400, e);
      }
    });
    req.endHandler(v -> {
      if (!refused[0]) {
        ctx.put(KEY, body);
        ctx.next();
      }
    });
    req.resume();
  }

  private void tooLarge(RoutingContext ctx) {
    // The rest of the body is not read, so the connection cannot carry another request.
    ctx.response().putHeader("Connection", "close");
    Problem.of(Problem.Reason.BODY_TOO_LARGE, "the request body exceeds the limit of " + limit
        + " bytes (" + Gateway.human(limit) + ") for " + ctx.request().path()).send(ctx);
  }
}
