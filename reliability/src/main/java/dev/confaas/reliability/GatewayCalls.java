package dev.confaas.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;

/**
 * The gateway's HTTP API as a client sees it: one {@link HttpClient} (HTTP/1.1, kept-alive
 * connections) for ordinary calls, and {@link #fresh} for a call on a connection of its own, from
 * 127.0.0.1, closed after the answer (what a new client meets while someone else holds
 * connections).
 */
final class GatewayCalls {
  static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .executor(Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "gateway-calls");
        t.setDaemon(true);
        return t;
      }))
      .build();

  /**
   * An answer, or the I/O failure that stood for one ({@code status} -1, {@code error} set).
   *
   * @param nanos from sending the request to the whole answer
   */
  record Answer(
      int status, Map<String, List<String>> headers, byte[] body, String error, long nanos) {
    static Answer failed(String error, long nanos) {
      return new Answer(-1, Map.of(), new byte[0], error, nanos);
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    Optional<String> header(String name) {
      for (var e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return Optional.of(e.getValue().get(0));
        }
      }
      return Optional.empty();
    }

    /** The problem document's {@code reason} (RFC 9457 body), or empty when there is none. */
    Optional<String> problemReason() {
      if (status < 400 || !header("content-type").orElse("").contains("problem+json")) {
        return Optional.empty();
      }
      try {
        JsonNode n = JSON.readTree(body);
        return Optional.ofNullable(n.path("reason").asText(null));
      } catch (IOException e) {
        return Optional.empty();
      }
    }

    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }

    /** {@code 200}, {@code 429 OVERLOADED}, {@code io: ...}: a status with its problem reason. */
    String kind() {
      if (status < 0) {
        return "io: " + error;
      }
      return problemReason().map(r -> status + " " + r).orElse(Integer.toString(status));
    }
  }

  Answer invoke(URI base, String function, byte[] event, Duration timeout) {
    return send(HttpRequest.newBuilder(base.resolve("/v1/functions/" + function + "/invoke"))
        .timeout(timeout).POST(HttpRequest.BodyPublishers.ofByteArray(event)).build());
  }

  Answer invokeAsync(URI base, String function, byte[] event, Duration timeout) {
    return send(HttpRequest.newBuilder(base.resolve("/v1/functions/" + function + "/invoke-async"))
        .timeout(timeout).POST(HttpRequest.BodyPublishers.ofByteArray(event)).build());
  }

  Answer invocation(URI base, String id) {
    return send(HttpRequest.newBuilder(base.resolve("/v1/invocations/" + id))
        .timeout(Duration.ofSeconds(30)).GET().build());
  }

  Answer get(URI base, String path, String token) {
    return send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token).GET().build());
  }

  Answer postJson(URI base, String path, String token, String json) {
    return send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build());
  }

  boolean ready(URI base) {
    return send(HttpRequest.newBuilder(base.resolve("/readyz")).timeout(Duration.ofSeconds(5))
        .GET().build()).status() == 200;
  }

  /** {@code confaas_gateway_*} samples of {@code /metrics} (name with labels to value). */
  Map<String, Double> gatewayMetrics(URI base, String token) {
    Map<String, Double> out = new TreeMap<>();
    Answer a = get(base, "/metrics", token);
    if (a.status() != 200) {
      return out;
    }
    for (String line : a.text().split("\n")) {
      if (line.startsWith("confaas_gateway_connections")) {
        int sp = line.lastIndexOf(' ');
        try {
          out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
        } catch (NumberFormatException e) {
          // not a sample line
        }
      }
    }
    return out;
  }

  private Answer send(HttpRequest request) {
    long t0 = System.nanoTime();
    try {
      HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
      return new Answer(r.statusCode(), r.headers().map(), r.body(), null, System.nanoTime() - t0);
    } catch (IOException e) {
      return Answer.failed(e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()), System.nanoTime() - t0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Answer.failed("interrupted", System.nanoTime() - t0);
    }
  }

  /**
   * {@code POST path} on a new connection from 127.0.0.1 with {@code Connection: close}: the
   * answer, or the failure (refused, reset, closed before an answer) as {@code io: ...}.
   */
  static Answer fresh(URI base, String path, byte[] body, Duration timeout) {
    long t0 = System.nanoTime();
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      s.connect(new InetSocketAddress(base.getHost(), base.getPort()), (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      OutputStream out = s.getOutputStream();
      String head = "POST " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort()
          + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String text = all.toString(StandardCharsets.ISO_8859_1);
      if (!text.startsWith("HTTP/1.1 ")) {
        return Answer.failed(text.isEmpty() ? "closed without an answer" : "not HTTP: "
            + text.substring(0, Math.min(40, text.length())), System.nanoTime() - t0);
      }
      int status = Integer.parseInt(text.substring(9, 12));
      int end = text.indexOf("\r\n\r\n");
      Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      for (String line : text.substring(0, Math.max(0, end)).split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
              List.of(line.substring(colon + 1).strip()));
        }
      }
      byte[] payload = end < 0 ? new byte[0]
          : text.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
      return new Answer(status, headers, payload, null, System.nanoTime() - t0);
    } catch (IOException | RuntimeException e) {
      return Answer.failed(e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()), System.nanoTime() - t0);
    }
  }
}
