package dev.confaas.bench.e2e;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.concurrent.CompletableFuture;

/** POSTs one payload to one URL over keep-alive HTTP/1.1 connections; 200 is success. */
final class HttpTarget implements Load.Target, AutoCloseable {
  private final HttpClient client;
  private final RequestOptions request;
  private final Buffer payload;
  private final Context context;

  HttpTarget(Vertx vertx, URI url, byte[] payload, int connections) {
    this.client =
        vertx.createHttpClient(
            new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
            new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
    this.request =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost(url.getHost())
            .setPort(url.getPort())
            .setURI(url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()))
            // A lost answer becomes an error with a reason instead of a silent hang.
            .setIdleTimeout(15_000);
    this.payload = Buffer.buffer(payload);
    this.context = vertx.getOrCreateContext();
  }

  @Override
  public CompletableFuture<Buffer> send() {
    CompletableFuture<Buffer> out = new CompletableFuture<>();
    // Always from the same event loop: requests issued from the open loop's pacing thread could
    // otherwise wait forever in the connection pool's queue.
    context.runOnContext(v -> request(out));
    return out;
  }

  private void request(CompletableFuture<Buffer> out) {
    client
        .request(request)
        .compose(req -> req.send(payload))
        .compose(resp -> resp.body().map(body -> {
          if (resp.statusCode() != 200) {
            throw new IllegalStateException(
                "HTTP " + resp.statusCode() + ": " + body.toString().strip());
          }
          return body;
        }))
        .onComplete(ar -> {
          if (ar.succeeded()) {
            out.complete(ar.result());
          } else {
            out.completeExceptionally(ar.cause());
          }
        });
  }

  @Override
  public void close() {
    client.close();
  }
}
