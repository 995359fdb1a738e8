package dev.confaas.gateway;

import dev.confaas.scheduler.InvocationResult;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The gateway's side of a sealed invocation (docs/sealed-invocations.md): it is the relay of
 * Oblivious HTTP (RFC 9458) and the TD's agent is the gateway. The request body is the caller's
 * encapsulated request ({@value #REQUEST_TYPE}), header {@value #TD_HEADER} names the TD it was
 * sealed to; the answer is the TD's encapsulated response ({@value #RESPONSE_TYPE}) with its
 * receipt. Neither body is ever decoded, logged, stored or put in a metric here.
 */
final class SealedInvocations {
  static final String REQUEST_TYPE = "message/ohttp-req";
  static final String RESPONSE_TYPE = "message/ohttp-res";
  /** Names the TD the request was sealed to (the ID in its evidence). */
  static final String TD_HEADER = "ConFaaS-TD";
  private static final Pattern TD_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private SealedInvocations() {}

  static boolean isSealed(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    if (type == null) {
      return false;
    }
    int semi = type.indexOf(';');
    return (semi < 0 ? type : type.substring(0, semi)).strip().toLowerCase(Locale.ROOT)
        .equals(REQUEST_TYPE);
  }

  /** The TD the request names; null after answering 400 when it names none or an invalid one. */
  static String targetTd(RoutingContext ctx) {
    String td = ctx.request().getHeader(TD_HEADER);
    if (td == null || !TD_ID.matcher(td.strip()).matches()) {
      Problem.of(Problem.Reason.BAD_REQUEST, "a sealed invocation (" + REQUEST_TYPE + ") must name"
          + " the TD it was sealed to in the " + TD_HEADER + " header"
          + (td == null ? "" : "; \"" + td + "\" is not a TD ID")
          + ": the td_id of the evidence whose sealing key you used (GET /v1/functions/NAME/evidence)")
          .send(ctx);
      return null;
    }
    return td.strip();
  }

  /**
   * Answers with the encapsulated response: 200 as a relay does, whatever the sealed outcome. A
   * function error travels sealed; the host sees only its kind, sent as {@code
   * X-Confaas-Function-Error}.
   */
  static Future<Void> answer(RoutingContext ctx, InvocationResult r) {
    HttpServerResponse resp = ctx.response();
    if (!r.succeeded()) {
      resp.putHeader("X-Confaas-Function-Error", r.error().kind().name());
    }
    return resp.setStatusCode(200)
        .putHeader("Content-Type", RESPONSE_TYPE)
        .putHeader("Cache-Control", "no-store")
        .end(Buffer.buffer(r.sealedResponse()));
  }
}
