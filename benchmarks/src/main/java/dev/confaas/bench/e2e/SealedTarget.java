package dev.confaas.bench.e2e;

import dev.confaas.agent.SealedMessages;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * A sealed invocation per send, as a caller makes it (docs/sealed-invocations.md): seal the event
 * to one TD's key for the function's image (a fresh HPKE context each time: X25519 key generation
 * and agreement, the key schedule, AES-GCM), POST it as {@code message/ohttp-req} naming the TD,
 * and open the {@code message/ohttp-res} answer. The caller's crypto is part of what is timed;
 * fetching and verifying the TD's evidence happens once, before.
 */
final class SealedTarget implements Load.Target, AutoCloseable {
  private final HttpClient client;
  private final RequestOptions request;
  private final byte[] sealingKey;
  private final String imageId;
  private final String tdId;
  private final byte[] event;
  private final Context context;

  SealedTarget(Vertx vertx, URI url, byte[] sealingKey, String imageId, String tdId, byte[] event,
      int connections) {
    this.client = vertx.createHttpClient(
        new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
    this.request = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setHost(url.getHost())
        .setPort(url.getPort())
        .setURI(url.getRawPath())
        .putHeader("Content-Type", "message/ohttp-req")
        .putHeader("ConFaaS-TD", tdId)
        .setIdleTimeout(15_000);
    this.sealingKey = sealingKey.clone();
    this.imageId = imageId;
    this.tdId = tdId;
    this.event = event.clone();
    this.context = vertx.getOrCreateContext();
  }

  @Override
  public CompletableFuture<String> send() {
    CompletableFuture<String> out = new CompletableFuture<>();
    context.runOnContext(v -> request(out));
    return out;
  }

  private void request(CompletableFuture<String> out) {
    SealedMessages.ClientRequest sealed = SealedMessages.seal(sealingKey, imageId, tdId, event);
    client.request(request)
        .compose(req -> req.send(Buffer.buffer(sealed.encapsulated())))
        .compose(resp -> resp.body().map(body -> {
          if (resp.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + resp.statusCode() + ": " + body.toString().strip());
          }
          if (resp.getHeader("X-Confaas-Function-Error") != null) {
            throw new IllegalStateException("function error " + resp.getHeader("X-Confaas-Function-Error"));
          }
          try {
            return new String(sealed.openResponse(body.getBytes()), StandardCharsets.UTF_8);
          } catch (SealedMessages.SealedMessageException e) {
            throw new IllegalStateException(e.getMessage(), e);
          }
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
