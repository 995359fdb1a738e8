package dev.confaas.bench.e2e;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline of the warm-invocation scenario: the platform's own shell runtime ({@code
 * /var/runtime/bootstrap} of the confaas-shell vendor layer, read from the vendor-layers jar) and
 * the same handler, run as plain host processes on busybox (the binary the layer is built from),
 * polling a minimal Lambda Runtime API (2018-06-01) served here. An invocation is: queue the
 * event, hand it to the next {@code GET invocation/next}, complete when {@code POST
 * invocation/ID/response} arrives. No gateway, scheduler, gRPC, TLS, attestation, chroot or agent.
 */
final class DirectRuntime implements Load.Target, AutoCloseable {
  private static final String BOOTSTRAP = "dev/confaas/vendor/framework/shell/bootstrap";
  private static final String BASE = "/2018-06-01/runtime/invocation/";

  private final Vertx vertx;
  private final Context context;
  private final byte[] payload;
  private final ArrayDeque<String> queued = new ArrayDeque<>();
  private final ArrayDeque<HttpServerRequest> waiting = new ArrayDeque<>();
  private final Map<String, CompletableFuture<Buffer>> pending = new HashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final List<Process> processes = new ArrayList<>();
  private HttpServer server;

  private DirectRuntime(Vertx vertx, byte[] payload) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.payload = payload;
  }

  /**
   * Starts the Runtime API and {@code instances} runtime processes running {@code handlerScript}
   * (its text) from a task directory under {@code work}.
   */
  static DirectRuntime start(
      Vertx vertx, Path work, String handlerScript, int instances, byte[] payload)
      throws IOException, InterruptedException {
    DirectRuntime rt = new DirectRuntime(vertx, payload);
    CompletableFuture<HttpServer> bound = new CompletableFuture<>();
    rt.context.runOnContext(v -> vertx.createHttpServer()
        .requestHandler(rt::handle)
        .listen(0, "127.0.0.1")
        .onComplete(ar -> {
          if (ar.succeeded()) {
            bound.complete(ar.result());
          } else {
            bound.completeExceptionally(ar.cause());
          }
        }));
    rt.server = bound.join();
    Path bin = Files.createDirectories(work.resolve("busybox-bin"));
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isExecutable(busybox)) {
      throw new IOException("/bin/busybox is missing; install Debian's busybox-static"
          + " (the shell vendor layer is built from it too)");
    }
    Process list = new ProcessBuilder(busybox.toString(), "--list").start();
    for (String applet : new String(list.getInputStream().readAllBytes()).split("\n")) {
      Path link = bin.resolve(applet.strip());
      if (!applet.isBlank() && !Files.exists(link)) {
        Files.createSymbolicLink(link, busybox);
      }
    }
    list.waitFor();
    Path task = Files.createDirectories(work.resolve("task"));
    Path handler = task.resolve("handler.sh");
    Files.writeString(handler, handlerScript);
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path bootstrap = work.resolve("bootstrap");
    try (InputStream in = DirectRuntime.class.getClassLoader().getResourceAsStream(BOOTSTRAP)) {
      if (in == null) {
        throw new IOException(BOOTSTRAP + " is not on the class path (confaas-vendor-layers)");
      }
      Files.write(bootstrap, in.readAllBytes());
    }
    Path tmp = Files.createDirectories(work.resolve("tmp"));
    for (int i = 0; i < instances; i++) {
      ProcessBuilder pb = new ProcessBuilder(busybox.toString(), "sh", bootstrap.toString())
          .redirectErrorStream(true)
          .redirectOutput(work.resolve("runtime-" + i + ".log").toFile());
      Map<String, String> env = pb.environment();
      env.clear();
      env.put("PATH", bin.toString());
      env.put("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + rt.server.actualPort());
      env.put("_HANDLER", "handler.sh");
      env.put("LAMBDA_TASK_ROOT", task.toString());
      env.put("TMPDIR", tmp.toString());
      rt.processes.add(pb.start());
    }
    return rt;
  }

  @Override
  public CompletableFuture<Buffer> send() {
    CompletableFuture<Buffer> out = new CompletableFuture<>();
    context.runOnContext(v -> {
      String id = "bench-" + ids.incrementAndGet();
      pending.put(id, out);
      HttpServerRequest next = waiting.pollFirst();
      if (next != null) {
        deliver(next, id);
      } else {
        queued.addLast(id);
      }
    });
    return out;
  }

  private void handle(HttpServerRequest req) {
    String path = req.path();
    if (req.method().name().equals("GET") && path.equals(BASE + "next")) {
      String id = queued.pollFirst();
      if (id != null) {
        deliver(req, id);
      } else {
        waiting.addLast(req);
      }
      return;
    }
    if (path.startsWith(BASE) && (path.endsWith("/response") || path.endsWith("/error"))) {
      String id = path.substring(BASE.length(), path.lastIndexOf('/'));
      boolean error = path.endsWith("/error");
      req.body().onComplete(ar -> {
        req.response().setStatusCode(202).end();
        CompletableFuture<Buffer> f = pending.remove(id);
        if (f != null) {
          if (error || ar.failed()) {
            f.completeExceptionally(new IllegalStateException(
                "function error: " + (ar.succeeded() ? ar.result() : ar.cause())));
          } else {
            f.complete(ar.result());
          }
        }
      });
      return;
    }
    req.response().setStatusCode(404).end();
  }

  private void deliver(HttpServerRequest req, String id) {
    req.response()
        .putHeader("Lambda-Runtime-Aws-Request-Id", id)
        .putHeader("Lambda-Runtime-Deadline-Ms",
            Long.toString(System.currentTimeMillis() + 30_000))
        .putHeader("Lambda-Runtime-Invoked-Function-Arn", "arn:confaas:function:direct")
        .end(Buffer.buffer(payload));
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
      try {
        p.waitFor(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      p.destroyForcibly();
    }
    server.close();
  }
}
