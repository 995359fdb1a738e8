package dev.confaas.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code confaas invoke}: sends one event to a function and prints its response body exactly as the
 * function returned it; on failure prints the error and exits 1.
 *
 * <p>Only when standard output is a terminal is anything added: a newline after a text response
 * that does not end in one, so the shell's prompt does not run on after it. Piped or redirected
 * ({@code > response.bin}, {@code $(confaas invoke ...)}), the bytes are the response's alone, and a
 * response that is not UTF-8 text is written as raw bytes wherever it goes.
 */
@Command(
    name = "invoke",
    description = {
      "Invoke a function with an event (--data, --data-file, or standard input).",
      "Prints the function's response exactly as it returned it; exits 1 with the",
      "error if it failed. On a terminal only, a newline is added when a text response",
      "does not end in one (so the prompt starts on a line of its own); piped or",
      "redirected, the bytes are exactly the response."
    },
    footer = {
      "",
      "Examples:",
      "  confaas invoke hello --data '{\"name\":\"td\"}'",
      "  echo '{}' | confaas invoke hello",
      "  confaas invoke hello --async --data '{}'",
      "  confaas invoke hello --data-file event.bin > response.bin",
      "  confaas invoke hello --sealed --data secret   # docs/sealed-invocations.md",
      "  confaas invoke hello --sealed --async --data secret   # queued as ciphertext"
    })
final class InvokeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin GatewayClient.Options gateway;
  @Mixin ReceiptTrust.Options trust;
  @ParentCommand Main main;

  // No standard --version here: it names the function version to invoke.
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
  String name;

  @ArgGroup(exclusive = true)
  Event event;

  static final class Event {
    @Option(names = "--data", paramLabel = "STRING", description = "The event, as given (UTF-8).")
    String data;

    @Option(names = "--data-file", paramLabel = "FILE", description = "Read the event from FILE.")
    Path file;
  }

  @Option(names = "--version", paramLabel = "VERSION",
      description = "Version number or alias (default: latest).")
  String version;

  @Option(names = "--timeout-ms", paramLabel = "MS",
      description = "Give up after this long (sent as X-Confaas-Timeout-Ms).")
  Long timeoutMs;

  @Option(names = "--async", description = "Queue the invocation; print its ID and return. With"
      + " --sealed: queue it (the host stores only ciphertext), wait for it, then open and verify the"
      + " result as --sealed does.")
  boolean async;

  @Option(names = "--json", description = "Print the outcome as JSON (body, request, TD, image).")
  boolean json;

  @Option(names = "--sealed", description = "Seal the event to a TD whose evidence verifies, so the"
      + " host relays only ciphertext; print the opened response, and the evidence and receipt checks"
      + " on standard error. Simulated TDX trusts the dev root 'confaas up' wrote, and says so.")
  boolean sealed;

  @Option(names = "--td", paramLabel = "ID", description = "With --sealed: the TD to seal to (default:"
      + " the first the gateway lists for the function).")
  String td;

  @Override
  public Integer call() throws IOException {
    byte[] payload;
    if (event != null && event.data != null) {
      payload = event.data.getBytes(StandardCharsets.UTF_8);
    } else if (event != null && event.file != null) {
      payload = CliFiles.read(event.file, "event");
    } else {
      payload = System.in.readAllBytes();
    }
    GatewayClient client = gateway.client();
    if (sealed) {
      if (json) {
        throw new Main.CliException("--sealed cannot be combined with --json yet");
      }
      SealedInvoke.Outcome o = new SealedInvoke(client, trust, spec.commandLine().getErr())
          .invoke(name, version, td, payload, timeoutMs, async);
      if (o.functionError() != null) {
        throw new Main.CliException("function " + name + " failed (" + o.functionError() + "): "
            + new String(o.plaintext(), StandardCharsets.UTF_8));
      }
      printText(spec.commandLine().getOut(), new String(o.plaintext(), StandardCharsets.UTF_8));
      return o.verified() ? 0 : 1;
    }
    String path = "/v1/functions/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
        + (async ? "/invoke-async" : "/invoke")
        + (version == null ? "" : "?version=" + URLEncoder.encode(version, StandardCharsets.UTF_8));
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "application/octet-stream");
    if (timeoutMs != null) {
      headers.put("X-Confaas-Timeout-Ms", Long.toString(timeoutMs));
    }
    GatewayClient.Response r = client.post(path, payload, headers);
    PrintWriter out = spec.commandLine().getOut();
    if (async) {
      GatewayClient.check(r, "invoke " + name);
      String id = new JsonObject(r.text()).getString("invocationId");
      out.println(json ? new JsonObject().put("invocationId", id)
          .put("location", r.header("Location")).encode() : id);
      return 0;
    }
    if (json) {
      JsonObject o = new JsonObject()
          .put("status", r.status())
          .put("requestId", r.header("X-Confaas-Request-Id"))
          .put("tdId", r.header("X-Confaas-Td-Id"))
          .put("imageId", r.header("X-Confaas-Image-Id"));
      if (r.ok()) {
        String text = utf8(r.body());
        o.put("body", text != null ? text : Base64.getEncoder().encodeToString(r.body()))
            .put("bodyEncoding", text != null ? "utf-8" : "base64");
      } else {
        JsonObject problem = r.problem();
        o.put("error", problem != null ? problem
            : new JsonObject().put("status", r.status()).put("detail", r.text()));
      }
      out.println(o.encode());
      return r.ok() ? 0 : 1;
    }
    if (!r.ok()) {
      throw new Main.CliException(failure(r));
    }
    String text = utf8(r.body());
    if (text != null) {
      printText(out, text);
    } else {
      // Not text: write the bytes as they are, not through the character writer.
      out.flush();
      System.out.write(r.body());
      System.out.flush();
    }
    return 0;
  }

  /** The response as it is, and on a terminal a newline if it has none at its end. */
  private void printText(PrintWriter out, String text) {
    out.print(text);
    if (main != null && main.stdoutIsTerminal && !text.isEmpty() && !text.endsWith("\n")) {
      out.println();
    }
    out.flush();
  }

  /**
   * What went wrong: the function's own error (kind, type, exit status, message, where it ran, the
   * top of its stack trace if it sent one) or the platform's problem, with the request ID.
   */
  private String failure(GatewayClient.Response r) {
    String td = r.header("X-Confaas-Td-Id");
    String request = r.header("X-Confaas-Request-Id");
    String where = td != null ? " [td " + td + ", request " + request + "]"
        : request != null ? " [request " + request + "]" : "";
    JsonObject problem = r.problem();
    JsonObject e = problem == null ? null : problem.getJsonObject("functionError");
    if (e != null) {
      Object exit = e.getValue("exitStatus");
      StringBuilder b = new StringBuilder("function ").append(name).append(" failed (")
          .append(e.getString("kind")).append(' ').append(e.getString("errorType"))
          .append(exit instanceof Number n && n.intValue() >= 0 ? ", exit " + n : "")
          .append("): ").append(e.getString("errorMessage")).append(where);
      if (e.getValue("stackTrace") instanceof JsonArray trace && !trace.isEmpty()) {
        // One line, as every CLI error: the top frames; --json shows the whole document.
        b.append("; stack: ");
        for (int i = 0; i < Math.min(3, trace.size()); i++) {
          b.append(i == 0 ? "" : " | ").append(String.valueOf(trace.getValue(i)).strip());
        }
        b.append(trace.size() > 3 ? " | ... (--json shows all " + trace.size() + ")" : "");
      }
      return b.toString();
    }
    return "gateway answered " + r.errorMessage()
        + (r.header("Retry-After") != null ? " (retry after " + r.header("Retry-After") + " s)"
            : "") + where;
  }

  private static String utf8(byte[] b) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
