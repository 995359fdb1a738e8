package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;

/** Checks that a response is an RFC 9457 problem of the expected reason, as the README promises. */
public final class ProblemAssertions {
  private ProblemAssertions() {}

  /**
   * Asserts status, {@code application/problem+json}, {@code type}, {@code title}, {@code status},
   * a non-blank {@code detail}, {@code reason} and a {@code requestId} equal to the response's
   * {@code X-Confaas-Request-Id}; returns the document for further checks.
   */
  public static JsonObject assertProblem(HttpResponse<String> r, int status, String reason) {
    String what = r.request().method() + " " + r.uri().getPath() + " -> " + r.statusCode() + " "
        + r.body();
    assertEquals(status, r.statusCode(), what);
    assertEquals(Problem.CONTENT_TYPE, r.headers().firstValue("Content-Type").orElse(null), what);
    JsonObject p = new JsonObject(r.body());
    Problem.Reason expected = Problem.Reason.valueOf(reason);
    assertEquals(reason, p.getString("reason"), what);
    assertEquals(expected.type(), p.getString("type"), what);
    assertEquals(expected.title(), p.getString("title"), what);
    assertEquals(status, p.getInteger("status"), what);
    assertFalse(p.getString("detail", "").isBlank(), "no detail: " + what);
    assertEquals(r.uri().getPath(), p.getString("instance"), what);
    String requestId = r.headers().firstValue(Problem.REQUEST_ID).orElse(null);
    assertNotNull(requestId, "no " + Problem.REQUEST_ID + " header: " + what);
    assertEquals(requestId, p.getString("requestId"), what);
    return p;
  }
}
