package dev.confaas.gateway;

import dev.confaas.scheduler.FunctionError;
import dev.confaas.scheduler.InvocationRejectedException;
import dev.confaas.scheduler.InvocationResult;
import io.vertx.core.json.DecodeException;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import dev.confaas.image.LayerException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletionException;

/**
 * What the platform's outcomes and failures are as {@link Problem}s, in one place so the README's
 * table stays true: function errors, rejections, deploy refusals, and the router's own failures
 * (unknown route, wrong method, body too large, bad JSON, anything unexpected).
 */
final class Problems {
  /** The statuses Vert.x Web may fail a request with before a route answers it. */
  static final int[] ROUTER_STATUSES = {400, 404, 405, 413, 415, 500};

  private Problems() {}

  /** A function ran and failed; the problem carries its error document and where it ran. */
  static Problem function(String name, InvocationResult r) {
    FunctionError e = r.error();
    String message = e.message().isBlank() ? e.type() : e.message();
    return Problem.of(Problem.Reason.of(e.kind()), "function \"" + name + "\": " + message)
        .functionError(Problem.functionError(e))
        .tdId(r.tdId())
        .imageId(r.imageId());
  }

  /** The platform did not run the invocation: a rejection, or a failure of its own. */
  static Problem notRun(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof InvocationRejectedException rej) {
      Problem p = Problem.of(Problem.Reason.valueOf(rej.reason().name()), rej.getMessage());
      int status = p.reason().status();
      if ((status == 429 || status == 503) && !rej.retryAfter().isZero()) {
        p.retryAfter(rej.retryAfter());
      } else if (status == 429) {
        p.retryAfter(Duration.ofSeconds(1)); // 429 always says when to come back
      }
      return p;
    }
    return Problem.of(Problem.Reason.INTERNAL,
        "the platform failed to run the invocation: " + cause.getMessage());
  }

  /** A management request failed on a worker thread. */
  static Problem management(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof DeployException e) {
      return Problem.of(e.reason(), e.getMessage());
    }
    if (cause instanceof LayerException e) {
      // Raised by the image module's limited readers (ImageLimits), naming the layer and limit.
      return Problem.of(Problem.Reason.IMAGE_LIMIT, e.getMessage());
    }
    if (cause instanceof IOException) {
      return Problem.of(Problem.Reason.STORAGE, "the gateway could not read or write its data"
          + " directory: " + cause.getMessage());
    }
    return Problem.of(Problem.Reason.INTERNAL, "internal error: " + cause);
  }

  /** The router's error handler: a request Vert.x Web failed before (or instead of) a route. */
  static void routerFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    String method = ctx.request().method().name();
    String path = ctx.request().path();
    int status = ctx.statusCode();
    if (failure instanceof HttpException h) {
      status = h.getStatusCode();
    }
    Problem p;
    if (failure instanceof DecodeException || failure != null
        && failure.getCause() instanceof DecodeException) {
      p = Problem.of(Problem.Reason.INVALID_JSON, "the body of " + method + " " + path
          + " is not valid JSON: " + failure.getMessage());
    } else if (status == 404) {
      p = failure == null
          ? Problem.of(Problem.Reason.NO_ROUTE,
              "no route " + method + " " + path + "; see gateway/README.md for the API")
          : Problem.of(Problem.Reason.NOT_FOUND, method + " " + path + ": " + failure.getMessage());
    } else if (status == 405) {
      p = Problem.of(Problem.Reason.METHOD_NOT_ALLOWED,
          "method " + method + " is not allowed on " + path + "; see gateway/README.md");
    } else if (status == 413) {
      Long max = ctx.get(Gateway.BODY_LIMIT);
      p = Problem.of(Problem.Reason.BODY_TOO_LARGE, "the request body exceeds the limit of "
          + (max == null ? "?" : max) + " bytes (" + Gateway.human(max) + ") for " + path);
      // Vert.x stops reading an oversized body, so the connection cannot carry another request.
      ctx.response().putHeader("Connection", "close");
    } else if (status == 415) {
      p = Problem.of(Problem.Reason.UNSUPPORTED_MEDIA_TYPE, "the Content-Type of " + method
          + " " + path + " is not one this route takes; see gateway/README.md");
    } else if (status >= 400 && status < 500) {
      p = Problem.of(Problem.Reason.BAD_REQUEST, "the request " + method + " " + path
          + " is malformed" + (failure == null ? "" : ": " + failure.getMessage()));
    } else {
      p = Problem.of(Problem.Reason.INTERNAL, "internal error while handling " + method + " "
          + path + ": " + (failure == null ? "unknown" : failure.toString()));
    }
    p.send(ctx);
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
  }
}
