package dev.confaas.lambda;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The four Runtime API calls, over {@link HttpURLConnection} (in {@code java.base}, so the JRE
 * needs no {@code java.net.http}). Never through a proxy: the API is on the instance's loopback.
 */
final class RuntimeApiClient {
  static final String VERSION = "2018-06-01";
  /** Request IDs go into URL paths; anything else is refused rather than escaped. */
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  /** One event from {@code next}; header values are null when absent. */
  record Event(
      String requestId,
      long deadlineMs,
      String functionArn,
      String traceId,
      String clientContext,
      String cognitoIdentity,
      byte[] payload) {}

  private final String base;

  /** {@code hostPort} is {@code AWS_LAMBDA_RUNTIME_API}, e.g. {@code 127.0.0.1:9001}. */
  RuntimeApiClient(String hostPort) {
    if (hostPort == null || hostPort.isBlank() || hostPort.contains("/")) {
      throw new IllegalArgumentException(
          "AWS_LAMBDA_RUNTIME_API is \"" + hostPort + "\"; it must be HOST:PORT of the Runtime API"
              + " (the agent sets it for every function instance)");
    }
    this.base = "http://" + hostPort + "/" + VERSION + "/runtime/";
  }

  /** Blocks until the agent hands out the next event. */
  Event next() throws IOException {
    HttpURLConnection c = open("invocation/next");
    c.setRequestMethod("GET");
    c.setReadTimeout(0); // long poll: a warm instance may wait for its next event indefinitely
    int status = c.getResponseCode();
    if (status != 200) {
      throw new IOException("GET invocation/next answered " + status + ": " + errorBody(c));
    }
    byte[] payload;
    try (InputStream in = c.getInputStream()) {
      payload = in.readAllBytes();
    }
    String id = c.getHeaderField("Lambda-Runtime-Aws-Request-Id");
    if (id == null || !REQUEST_ID.matcher(id).matches()) {
      throw new IOException("GET invocation/next gave request ID \"" + id + "\"; expected 1 to 128"
          + " characters of [A-Za-z0-9._:-]");
    }
    long deadline;
    String d = c.getHeaderField("Lambda-Runtime-Deadline-Ms");
    try {
      deadline = d == null ? Long.MAX_VALUE : Long.parseLong(d.trim());
    } catch (NumberFormatException e) {
      throw new IOException("Lambda-Runtime-Deadline-Ms \"" + d + "\" is not epoch milliseconds");
    }
    return new Event(
        id,
        deadline,
        c.getHeaderField("Lambda-Runtime-Invoked-Function-Arn"),
        c.getHeaderField("Lambda-Runtime-Trace-Id"),
        c.getHeaderField("Lambda-Runtime-Client-Context"),
        c.getHeaderField("Lambda-Runtime-Cognito-Identity"),
        payload);
  }

  void respond(String requestId, byte[] payload) throws IOException {
    post("invocation/" + requestId + "/response", "application/octet-stream", null, payload);
  }

  void error(String requestId, ErrorReport report) throws IOException {
    post("invocation/" + requestId + "/error", "application/json", report.errorType(),
        report.toJson().getBytes(StandardCharsets.UTF_8));
  }

  void initError(ErrorReport report) throws IOException {
    post("init/error", "application/json", report.errorType(),
        report.toJson().getBytes(StandardCharsets.UTF_8));
  }

  private void post(String path, String contentType, String errorType, byte[] body)
      throws IOException {
    HttpURLConnection c = open(path);
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setFixedLengthStreamingMode(body.length);
    c.setRequestProperty("Content-Type", contentType);
    if (errorType != null) {
      c.setRequestProperty("Lambda-Runtime-Function-Error-Type", errorType);
    }
    try (OutputStream out = c.getOutputStream()) {
      out.write(body);
    }
    int status = c.getResponseCode();
    if (status / 100 != 2) {
      throw new IOException("POST " + path + " answered " + status + ": " + errorBody(c));
    }
    try (InputStream in = c.getInputStream()) {
      in.readAllBytes(); // drain, so the connection can be reused
    }
  }

  private HttpURLConnection open(String path) throws IOException {
    HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection(Proxy.NO_PROXY);
    c.setConnectTimeout(10_000);
    c.setReadTimeout(60_000);
    c.setUseCaches(false);
    return c;
  }

  private static String errorBody(HttpURLConnection c) {
    try (InputStream in = c.getErrorStream()) {
      if (in == null) {
        return "(no body)";
      }
      byte[] b = in.readNBytes(1024);
      return new String(b, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(body unreadable: " + e.getMessage() + ")";
    }
  }
}
