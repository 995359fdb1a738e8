package dev.confaas.cli;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code confaas logs NAME}: a function's recent stdout and stderr from {@code GET
 * /v1/functions/NAME/logs}, each line with its time, version, request ID, instance and TD; with
 * {@code --follow}, new lines as they come until interrupted.
 */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = {
      "Show a function's recent output: stdout and stderr of its instances.",
      "One line each: TIME NAME:VERSION REQUEST-ID INSTANCE@TD STREAM: LINE, with",
      "'init' as the request ID for output before the first event. The gateway keeps",
      "the last 1000 lines per function."
    },
    footer = {
      "",
      "Examples:",
      "  confaas logs hello",
      "  confaas logs hello --follow",
      "  confaas logs hello --since 10m --request 5f0c6d2e-8a61-4b4e-9d53-0b1f2f5b7a11",
      "  confaas logs hello --since 2024-05-01T12:00:00Z --json"
    })
final class LogsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin GatewayClient.Options gateway;

  @Parameters(paramLabel = "NAME", description = "The function.")
  String name;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new lines until interrupted.")
  boolean follow;

  @Option(names = "--request", paramLabel = "ID",
      description = "Only the lines of this request (the X-Confaas-Request-Id an invoke answered).")
  String requestId;

  @Option(names = "--since", paramLabel = "WHEN",
      description = "Only lines from this RFC 3339 time or this long ago (30s, 10m, 2h, 1d).")
  String since;

  @Option(names = "--json", description = "One JSON object per line, as the gateway sends them.")
  boolean json;

  @Override
  public Integer call() {
    StringBuilder path = new StringBuilder(FunctionsCommand.path(name)).append("/logs?format=json");
    if (follow) {
      path.append("&follow=true");
    }
    if (requestId != null) {
      path.append("&requestId=").append(URLEncoder.encode(requestId, StandardCharsets.UTF_8));
    }
    if (since != null) {
      path.append("&since=").append(URLEncoder.encode(since, StandardCharsets.UTF_8));
    }
    GatewayClient client = gateway.client();
    HttpRequest request = client.request(path.toString()).GET().build();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpResponse<Stream<String>> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofLines());
    } catch (ConnectException e) {
      throw new Main.CliException("cannot connect to the gateway at " + request.uri()
          + "; is 'confaas up' running? (set CONFAAS_URL or --url to reach another one)", e);
    } catch (IOException e) {
      throw new Main.CliException("request to " + request.uri() + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Main.CliException("interrupted", e);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Stream<String> lines = response.body()) {
      if (response.statusCode() / 100 != 2) {
        String body = lines.collect(Collectors.joining("\n"));
        GatewayClient.check(
            new GatewayClient.Response(response.statusCode(), response.headers().map(),
                body.getBytes(StandardCharsets.UTF_8)),
            "logs of " + name);
      }
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (line.isBlank()) {
          continue; // the gateway's keep-alive while following
        }
        print(line, out, err);
        out.flush();
      }
    }
    return 0;
  }

  private void print(String line, PrintWriter out, PrintWriter err) {
    JsonObject o;
    try {
      o = new JsonObject(line);
    } catch (DecodeException e) {
      out.println(line);
      return;
    }
    if (o.containsKey("note")) {
      err.println("# " + o.getString("note"));
      err.flush();
      return;
    }
    if (json) {
      out.println(line);
      return;
    }
    String request = o.getString("requestId", "");
    out.println(o.getString("time") + " " + o.getString("function") + ":" + o.getString("version")
        + " " + (request.isEmpty() ? "init" : request) + " " + o.getString("instance") + "@"
        + o.getString("td") + " " + o.getString("stream") + ": " + o.getString("line"));
  }
}
