package dev.confaas.gateway;

import io.vertx.ext.web.RoutingContext;

/**
 * Who may call what: the management token for management routes; for invocations, whatever the
 * function's {@code invokeAuth} asks (or the management token). Tokens are compared in constant
 * time.
 */
final class Auth {
  private final AdminToken adminToken;
  private final FunctionRegistry registry;

  Auth(AdminToken adminToken, FunctionRegistry registry) {
    this.adminToken = adminToken;
    this.registry = registry;
  }

  private static String bearer(RoutingContext ctx) {
    String h = ctx.request().getHeader("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return h.substring(7).strip();
  }

  void requireAdmin(RoutingContext ctx) {
    if (adminToken.matches(bearer(ctx))) {
      ctx.next();
    } else {
      unauthorized(ctx, "this route needs the management token: send 'Authorization: Bearer"
          + " <token>' with the token from " + AdminToken.FILE + " in the data directory");
    }
  }

  boolean mayInvoke(RoutingContext ctx, String function) {
    String presented = bearer(ctx);
    return registry.invokeAllowed(function, presented) || adminToken.matches(presented);
  }

  void requireInvoke(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (mayInvoke(ctx, name)) {
      ctx.next();
    } else {
      unauthorized(ctx, "function \"" + name + "\" needs its invoke token: send 'Authorization:"
          + " Bearer <token>' with the token its deploy returned");
    }
  }

  /**
   * A function's logs: the management token, or the function's own invoke token. A function open
   * to anyone ({@code invokeAuth} none) does not open its logs: they may say more than its answers.
   */
  void requireLogReader(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String presented = bearer(ctx);
    boolean ownToken = registry.get(name)
        .map(f -> f.invokeAuth() != FunctionConfig.InvokeAuth.NONE)
        .orElse(false) && registry.invokeAllowed(name, presented);
    if (ownToken || adminToken.matches(presented)) {
      ctx.next();
    } else {
      unauthorized(ctx, "the logs of function \"" + name + "\" need the management token or the"
          + " function's invoke token: send 'Authorization: Bearer <token>'");
    }
  }

  static void unauthorized(RoutingContext ctx, String message) {
    ctx.response().putHeader("WWW-Authenticate", "Bearer");
    Problem.of(Problem.Reason.UNAUTHORIZED, message).send(ctx);
  }
}
