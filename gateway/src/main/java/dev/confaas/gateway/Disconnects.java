package dev.confaas.gateway;

import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;

/**
 * Tells a client that went away from a failure of the gateway, so a disconnect is never logged as
 * an error. A client that closes or resets its connection mid-request is normal on the Internet,
 * and an attacker can do it thousands of times a second: before this, each one wrote an ERROR with
 * a stack trace ("Unhandled exception in router": Vert.x Web's {@code BodyHandler} fails the
 * request with the response's status, 200, for which no error handler exists; and "File handle is
 * closed" from its cancelled upload).
 */
final class Disconnects {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Disconnects.class);

  private Disconnects() {}

  /**
   * The router's first failure handler: a request whose client is gone ends quietly (logged at
   * debug, nothing sent: there is no one to send it to); every other failure becomes a problem.
   */
  static void routeFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (isClientGone(failure) || failure != null && ctx.response().closed()) {
      log.debug("{} {}: the client went away ({})", ctx.request().method(), ctx.request().path(),
          failure.toString());
      return;
    }
    Problems.routerFailure(ctx);
  }

  /**
   * The gateway's Vert.x exception handler: what a handler threw and nothing caught. A client's
   * disconnect is debug; anything else is a bug worth an ERROR.
   */
  static void uncaught(Throwable t) {
    if (isClientGone(t) || isCancelledUpload(t)) {
      log.debug("a client went away: {}", t.toString());
    } else {
      log.error("unhandled exception in the gateway", t);
    }
  }

  /** Whether {@code t} (or a cause) says the connection was closed or reset by the peer. */
  static boolean isClientGone(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof HttpClosedException || c instanceof ClosedChannelException) {
        return true;
      }
      if (c instanceof IOException || c instanceof VertxException) {
        String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
        if (m.contains("connection reset") || m.contains("broken pipe")
            || m.contains("connection was closed") || m.contains("connection closed")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Vert.x (4.5) cancels a multipart upload whose connection was reset by closing a pipe to a file
   * that is already closed, and throws; nothing is lost but the log line.
   */
  private static boolean isCancelledUpload(Throwable t) {
    if (!(t instanceof IllegalStateException) || !"File handle is closed".equals(t.getMessage())) {
      return false;
    }
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getMethodName().equals("cancelStreamToFileSystem")
          || e.getMethodName().equals("cancelAndCleanupFileUploads")) {
        return true;
      }
    }
    return false;
  }
}
