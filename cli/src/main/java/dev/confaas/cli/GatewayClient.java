package dev.confaas.cli;

import dev.confaas.gateway.DeployBundle;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The CLI's side of the gateway's HTTP API: where it is ({@code --url}/{@code --token}, else {@link
 * GatewayEndpoint#resolve()}), requests with the bearer token, and errors turned into one-line
 * messages that repeat what the gateway said: the {@code status}, {@code title} and {@code detail}
 * of its RFC 9457 problem document ({@code application/problem+json}).
 */
final class GatewayClient {
  private final URI base;
  private final String token;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  GatewayClient(URI base, String token) {
    this.base = base;
    this.token = token;
  }

  /** Options every command that talks to the gateway takes. */
  static final class Options {
    @Option(names = "--url", paramLabel = "URL",
        description = "Gateway base URL (default: CONFAAS_URL, else DATA/gateway.url).")
    URI url;

    @Option(names = "--token", paramLabel = "TOKEN",
        description = "Bearer token to send (default: CONFAAS_TOKEN, else DATA/admin.token).")
    String token;

    GatewayClient client() {
      Map<String, String> env = new java.util.HashMap<>(System.getenv());
      if (url != null) {
        env.put("CONFAAS_URL", url.toString());
      }
      if (token != null) {
        env.put("CONFAAS_TOKEN", token);
      }
      GatewayEndpoint e = GatewayEndpoint.resolve(env);
      // An explicit empty --token sends none (to act as an anonymous caller).
      return new GatewayClient(e.url(), token != null ? token : e.token());
    }
  }

  /** A response: status, headers, body bytes. */
  record Response(int status, Map<String, java.util.List<String>> headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      for (Map.Entry<String, java.util.List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return e.getValue().get(0);
        }
      }
      return null;
    }

    boolean ok() {
      return status / 100 == 2;
    }

    /** The gateway's problem document, or null when the body is not one. */
    JsonObject problem() {
      return GatewayClient.problem(text());
    }

    /** What the gateway said, in one line (see {@link GatewayClient#describe}). */
    String errorMessage() {
      return describe(status, text());
    }
  }

  /** {@code body} as a problem document (a JSON object with a {@code detail}), else null. */
  static JsonObject problem(String body) {
    try {
      JsonObject p = new JsonObject(body);
      return p.getValue("detail") instanceof String ? p : null;
    } catch (RuntimeException notAProblem) {
      return null;
    }
  }

  /**
   * An error answer in one line: {@code 404 Not found: no function named "x"; ...} from a problem
   * document's status, title and detail; anything else as {@code HTTP 502: <body>}.
   */
  static String describe(int status, String body) {
    JsonObject p = problem(body);
    if (p == null) {
      return "HTTP " + status + (body == null || body.isBlank() ? "" : ": " + body.strip());
    }
    String title = p.getValue("title") instanceof String t ? " " + t : "";
    return status + title + ": " + p.getString("detail");
  }

  HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
    if (token != null && !token.isBlank()) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  Response get(String path) {
    return send(request(path).GET().build());
  }

  Response delete(String path) {
    return send(request(path).DELETE().build());
  }

  Response post(String path, byte[] body, Map<String, String> headers) {
    HttpRequest.Builder b = request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(b::header);
    return send(b.build());
  }

  /** Streams a deploy bundle (layers may be large) without holding it in memory. */
  Response deploy(DeployBundle bundle) {
    HttpRequest r = request("/v1/functions")
        .header("Content-Type", bundle.contentType())
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> stream(bundle)))
        .build();
    return send(r);
  }

  private static InputStream stream(DeployBundle bundle) {
    try {
      PipedInputStream in = new PipedInputStream(64 * 1024);
      PipedOutputStream out = new PipedOutputStream(in);
      Thread t = new Thread(() -> {
        try (OutputStream o = out) {
          bundle.writeTo(o);
        } catch (IOException e) {
          // the reader sees the pipe closed early and the request fails
        }
      }, "confaas-deploy-writer");
      t.setDaemon(true);
      t.start();
      return in;
    } catch (IOException e) {
      throw new Main.CliException("cannot prepare the deploy bundle: " + e.getMessage(), e);
    }
  }

  Response send(HttpRequest r) {
    try {
      HttpResponse<byte[]> resp = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
      return new Response(resp.statusCode(), resp.headers().map(), resp.body());
    } catch (ConnectException e) {
      throw new Main.CliException("cannot connect to the gateway at " + base + "; is 'confaas up'"
          + " running? (set CONFAAS_URL or --url to reach another one)", e);
    } catch (IOException e) {
      throw new Main.CliException("request to " + r.uri() + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Main.CliException("interrupted", e);
    }
  }

  /** Throws the gateway's error as a one-line CLI error unless the response is 2xx. */
  static Response check(Response r, String what) {
    if (r.status() == 401) {
      throw new Main.CliException(what + ": the gateway refused the token: " + r.errorMessage());
    }
    if (!r.ok()) {
      throw new Main.CliException(what + ": gateway answered " + r.errorMessage());
    }
    return r;
  }
}
