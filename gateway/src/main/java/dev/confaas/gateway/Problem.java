package dev.confaas.gateway;

import dev.confaas.scheduler.FunctionError;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;

/**
 * An error answer of the gateway as RFC 9457 problem details ({@code application/problem+json}):
 * {@code type}, {@code title}, {@code status}, {@code detail}, {@code instance}, plus the ConFaaS
 * members {@code reason}, {@code requestId} and, when known, {@code tdId}, {@code imageId} and
 * {@code functionError}. Every route answers its errors with one of these, so a client parses one
 * format; {@code gateway/README.md} lists the types.
 *
 * <pre>{@code
 * Problem.of(Problem.Reason.NOT_FOUND, "no trigger 't-1'; list them with GET /v1/triggers").send(ctx);
 * }</pre>
 */
public final class Problem {
  /** RFC 9457's media type. */
  public static final String CONTENT_TYPE = "application/problem+json";
  /** Every {@code type} is this followed by the reason's slug. */
  public static final String TYPE_BASE = "https://confaas.dev/problems/";
  /** The response header that names the request (and the problem's {@code requestId}). */
  public static final String REQUEST_ID = "X-Confaas-Request-Id";

  /**
   * The machine-readable {@code reason} of a problem, each with its stable {@code type} URI, its
   * {@code title} and its HTTP status. Function errors use the function error's kind as reason.
   */
  public enum Reason {
    BAD_REQUEST(400, "Bad request"),
    INVALID_JSON(400, "Body is not valid JSON"),
    INVALID_TIMEOUT(400, "Invalid invocation timeout"),
    INVALID_CLIENT_CONTEXT(400, "Invalid X-Amz-Client-Context"),
    INVALID_BUNDLE(400, "Invalid deploy bundle"),
    INVALID_CONFIG(400, "Invalid function configuration"),
    INVALID_NAME(400, "Invalid function name"),
    INVALID_MANIFEST(400, "Invalid manifest"),
    INVALID_CERTIFICATE(400, "Invalid certificate"),
    BAD_SIGNATURE(400, "Signature does not verify"),
    INVALID_POLICY(400, "Invalid launch policy"),
    INVALID_LAYER(400, "Invalid layer"),
    IMAGE_LIMIT(413, "Image over a limit"),
    INVALID_ALIAS(400, "Invalid alias"),
    INVALID_TRIGGER(400, "Invalid trigger"),
    UNAUTHORIZED(401, "Unauthorized"),
    NOT_FOUND(404, "Not found"),
    NO_ROUTE(404, "No such route"),
    METHOD_NOT_ALLOWED(405, "Method not allowed"),
    SEALED_REQUEST_REFUSED(403, "Sealed request refused by the TD"),
    TRIGGER_CONFLICT(409, "Trigger already exists"),
    TD_REFUSES_FUNCTION(409, "Trust domain cannot take the function"),
    TD_GONE(410, "Trust domain gone"),
    BODY_TOO_LARGE(413, "Request body too large"),
    UNSUPPORTED_MEDIA_TYPE(415, "Unsupported media type"),
    UNRESOLVED_ALIAS(422, "Layer reference does not resolve"),
    DIGEST_MISMATCH(422, "Layer digest mismatch"),
    MISSING_LAYER(422, "Layer missing"),
    OVERLOADED(429, "Overloaded"),
    STORAGE(500, "Storage failure"),
    INTERNAL(500, "Internal error"),
    HANDLED(502, "function-error", "Function returned an error"),
    CRASHED(502, "function-crashed", "Function crashed"),
    INIT_FAILED(502, "function-init-failed", "Function failed to initialise"),
    RESPONSE_TOO_LARGE(502, "function-response-too-large", "Function response too large"),
    TD_LOST(502, "td-lost", "Trust domain lost"),
    UNAVAILABLE(503, "Unavailable"),
    SHUTTING_DOWN(503, "Shutting down"),
    TIMED_OUT(504, "function-timed-out", "Function timed out"),
    DEADLINE_EXCEEDED(504, "Deadline exceeded");

    private final int status;
    private final String slug;
    private final String title;

    Reason(int status, String title) {
      this(status, null, title);
    }

    Reason(int status, String slug, String title) {
      this.status = status;
      this.slug = slug != null ? slug : name().toLowerCase(Locale.ROOT).replace('_', '-');
      this.title = title;
    }

    /** The HTTP status a problem of this reason is sent with. */
    public int status() {
      return status;
    }

    /** The stable {@code type} URI, e.g. {@code https://confaas.dev/problems/overloaded}. */
    public String type() {
      return TYPE_BASE + slug;
    }

    /** The short summary, the same for every occurrence. */
    public String title() {
      return title;
    }

    /** The reason a function error of this kind is reported with. */
    static Reason of(FunctionError.Kind kind) {
      return valueOf(kind.name());
    }
  }

  private final Reason reason;
  private final String detail;
  private String tdId;
  private String imageId;
  private JsonObject functionError;
  private Duration retryAfter;

  private Problem(Reason reason, String detail) {
    this.reason = reason;
    this.detail = detail == null || detail.isBlank() ? reason.title() : detail;
  }

  /** A problem; {@code detail} says what was wrong and what to do. */
  public static Problem of(Reason reason, String detail) {
    return new Problem(reason, detail);
  }

  /** The TD the request ran in. */
  Problem tdId(String id) {
    this.tdId = id;
    return this;
  }

  /** The image that ran. */
  Problem imageId(String id) {
    this.imageId = id;
    return this;
  }

  /** The function's error document (see {@link #functionError(FunctionError)}). */
  Problem functionError(JsonObject document) {
    this.functionError = document;
    return this;
  }

  /** Sent as {@code Retry-After} in whole seconds, at least 1. */
  Problem retryAfter(Duration wait) {
    this.retryAfter = wait;
    return this;
  }

  public Reason reason() {
    return reason;
  }

  public String detail() {
    return detail;
  }

  /** The document, for a request at {@code instance} with ID {@code requestId}. */
  JsonObject toJson(String instance, String requestId) {
    JsonObject o = new JsonObject()
        .put("type", reason.type())
        .put("title", reason.title())
        .put("status", reason.status())
        .put("detail", detail);
    if (instance != null) {
      o.put("instance", instance);
    }
    o.put("reason", reason.name()).put("requestId", requestId);
    if (tdId != null) {
      o.put("tdId", tdId);
    }
    if (imageId != null) {
      o.put("imageId", imageId);
    }
    if (functionError != null) {
      o.put("functionError", functionError);
    }
    return o;
  }

  /**
   * Answers the request with this problem; {@code instance} is the request's path. Does nothing if
   * the response has already been sent or the connection is gone.
   */
  public Future<Void> send(RoutingContext ctx) {
    HttpServerResponse resp = ctx.response();
    if (resp.ended() || resp.closed()) {
      return Future.succeededFuture();
    }
    String requestId = requestId(ctx);
    if (retryAfter != null) {
      resp.putHeader("Retry-After",
          Long.toString(Math.max(1, (retryAfter.toMillis() + 999) / 1000)));
    }
    return resp.setStatusCode(reason.status())
        .putHeader("Content-Type", CONTENT_TYPE)
        .end(toJson(ctx.request().path(), requestId).encode());
  }

  /**
   * The request's ID: the {@value #REQUEST_ID} response header, set to a fresh UUID the first time
   * it is asked for. The gateway asks on arrival, so every response carries one.
   */
  public static String requestId(RoutingContext ctx) {
    String id = ctx.response().headers().get(REQUEST_ID);
    if (id == null) {
      id = UUID.randomUUID().toString();
      ctx.response().putHeader(REQUEST_ID, id);
    }
    return id;
  }

  /**
   * A function error as Lambda returns it: the document the function posted ({@code errorMessage},
   * {@code errorType}, {@code stackTrace}, and what else its runtime adds, such as the shell
   * runtime's {@code exitStatus} of its handler), or one made from the error the agent saw; plus
   * {@code kind} and, when the instance's process ended, its {@code exitStatus}.
   */
  public static JsonObject functionError(FunctionError e) {
    JsonObject o = new JsonObject();
    if (!e.document().isEmpty()) {
      try {
        o = new JsonObject(e.document());
      } catch (RuntimeException notAnObject) {
        o = new JsonObject(); // agent.proto promises an object; fall back to type and message
      }
    }
    if (!(o.getValue("errorMessage") instanceof String)) {
      o.put("errorMessage", e.message());
    }
    if (!(o.getValue("errorType") instanceof String)) {
      o.put("errorType", e.type());
    }
    o.put("kind", e.kind().name());
    if (e.exitStatus() >= 0) {
      o.put("exitStatus", e.exitStatus());
    }
    return o;
  }
}
