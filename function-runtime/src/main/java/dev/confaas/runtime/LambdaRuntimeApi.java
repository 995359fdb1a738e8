package dev.confaas.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The AWS Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) as
 * served to ONE function instance.
 *
 * <p>One server per instance, on a port only that instance can reach, rather than one server that
 * routes by request ID: the port is the caller's identity, so a function can never fetch or answer
 * another instance's events by guessing IDs, even when functions of different signers share a TD.
 * Where the host allows, the socket is created inside the instance's own network namespace (see
 * {@link NetNamespace}) and the function reaches it as {@code 127.0.0.1:9001}, as in Lambda.
 *
 * <p>Netty, on a listening socket the agent binds itself on the calling thread (which is what puts
 * it in the instance's namespace) and then hands to a shared event loop; Vert.x would bind on its
 * event loop, in the wrong namespace. Handlers never block: {@code next} is parked and answered
 * later by {@link #deliver}. Header names go out exactly as AWS spells them.
 */
final class LambdaRuntimeApi implements AutoCloseable {
  /** Callbacks into the instance that owns this endpoint. Called on the event loop: be quick. */
  interface Listener {
    /** The runtime asked for an event ({@code GET invocation/next}). */
    void nextRequested();

    /** The runtime posted the response of the current invocation. */
    void responded(String requestId, byte[] payload);

    /**
     * The runtime posted an error for the current invocation; {@code document} is its body when that
     * is a JSON object of at most {@link #MAX_ERROR_DOCUMENT_CHARS} characters, else empty.
     */
    void failed(String requestId, String errorType, String errorMessage, String document);

    /** The runtime posted a response larger than the limit. */
    void responseTooLarge(String requestId, long size, long limit);

    /** The runtime reported that it could not initialise; {@code document} as for {@link #failed}. */
    void initFailed(String errorType, String errorMessage, String document);
  }

  static final String VERSION_PREFIX = "/2018-06-01/runtime";
  /** Lambda's synchronous response limit. */
  static final int DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
  private static final int MAX_ERROR_BODY_BYTES = 1024 * 1024;
  /** Error documents longer than this are not passed on whole (agent.proto's limit). */
  static final int MAX_ERROR_DOCUMENT_CHARS = 64 * 1024;
  private static final Pattern INVOCATION_PATH =
      Pattern.compile(VERSION_PREFIX + "/invocation/([^/]+)/(response|error)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final NioServerSocketChannel serverChannel;
  private final EventLoopGroup loop;
  private final Clock clock;
  private final int maxResponseBytes;
  private final Listener listener;
  private final String functionArn;
  private final int port;

  private final Object lock = new Object();
  private Parked parkedNext; // guarded by lock
  private Event pending; // guarded by lock: delivered, waiting for a next
  private String currentRequestId; // guarded by lock: handed out, not yet answered

  /** An event as the function will see it. */
  private record Event(Invocation invocation, long deadlineEpochMs) {}

  /** A {@code next} request waiting for an event. */
  private record Parked(Channel channel, boolean keepAlive) {}

  private LambdaRuntimeApi(
      ServerSocketChannel socket,
      EventLoopGroup loop,
      Clock clock,
      int maxResponseBytes,
      String functionArn,
      Listener listener)
      throws IOException {
    this.port = ((InetSocketAddress) socket.getLocalAddress()).getPort();
    this.serverChannel = new NioServerSocketChannel(socket);
    this.loop = loop;
    this.clock = clock;
    this.maxResponseBytes = maxResponseBytes;
    this.functionArn = functionArn;
    this.listener = listener;
  }

  /**
   * Binds the endpoint's socket on the calling thread (so in the calling thread's network
   * namespace) without serving yet.
   */
  static LambdaRuntimeApi bind(
      InetSocketAddress address,
      EventLoopGroup loop,
      Clock clock,
      int maxResponseBytes,
      String functionArn,
      Listener listener)
      throws IOException {
    ServerSocketChannel socket = ServerSocketChannel.open();
    try {
      socket.bind(address, 16);
      return new LambdaRuntimeApi(socket, loop, clock, maxResponseBytes, functionArn, listener);
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /** Starts serving on the event loop; connections queued since bind are accepted then. */
  void start() {
    new ServerBootstrap()
        .group(loop)
        .channelFactory(() -> serverChannel)
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new Connection());
              }
            })
        .register()
        .syncUninterruptibly();
  }

  int port() {
    return port;
  }

  /**
   * Hands an event to the function: answers a parked {@code next} now, or the next one to come.
   * The caller guarantees one invocation at a time.
   *
   * @return the deadline shown to the function, epoch milliseconds
   */
  long deliver(Invocation invocation) {
    Event event = new Event(invocation, clock.millis() + invocation.timeout().toMillis());
    Parked next;
    synchronized (lock) {
      if (currentRequestId != null) {
        throw new IllegalStateException(
            "invocation " + currentRequestId + " is still in progress on this instance");
      }
      currentRequestId = invocation.requestId();
      next = parkedNext;
      parkedNext = null;
      if (next == null || !next.channel().isActive()) {
        next = null;
        pending = event;
      }
    }
    if (next != null) {
      send(next, event);
    }
    return event.deadlineEpochMs();
  }

  /** Forgets the current invocation (timed out or abandoned): late answers to it get 400. */
  void abandon() {
    synchronized (lock) {
      currentRequestId = null;
      pending = null;
    }
  }

  @Override
  public void close() {
    Parked parked;
    synchronized (lock) {
      parked = parkedNext;
      parkedNext = null;
    }
    if (parked != null) {
      parked.channel().close();
    }
    serverChannel.close();
  }

  private void send(Parked next, Event event) {
    Invocation inv = event.invocation();
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(inv.payload()));
    var h = r.headers();
    h.set("Content-Type", "application/json");
    h.set("Lambda-Runtime-Aws-Request-Id", inv.requestId());
    h.set("Lambda-Runtime-Deadline-Ms", Long.toString(event.deadlineEpochMs()));
    h.set(
        "Lambda-Runtime-Invoked-Function-Arn",
        inv.invokedFunctionArn().isEmpty() ? functionArn : inv.invokedFunctionArn());
    if (!inv.traceId().isEmpty()) {
      h.set("Lambda-Runtime-Trace-Id", inv.traceId());
    }
    if (!inv.clientContext().isEmpty()) {
      h.set("Lambda-Runtime-Client-Context", inv.clientContext());
    }
    if (!inv.cognitoIdentity().isEmpty()) {
      h.set("Lambda-Runtime-Cognito-Identity", inv.cognitoIdentity());
    }
    write(next.channel(), r, next.keepAlive())
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                // The runtime hung up while parked; keep the event for its next call to next.
                synchronized (lock) {
                  if (inv.requestId().equals(currentRequestId) && pending == null) {
                    pending = event;
                  }
                }
              }
            });
  }

  /** One HTTP connection from the function; requests on it come one after another. */
  private final class Connection extends SimpleChannelInboundHandler<HttpObject> {
    private HttpRequest request;
    private ByteArrayOutputStream body;
    private long limit;
    private long received;
    private boolean tooLarge;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpRequest req) {
        request = req;
        body = new ByteArrayOutputStream();
        received = 0;
        tooLarge = false;
        limit =
            INVOCATION_PATH.matcher(path(req)).matches() && path(req).endsWith("/response")
                ? maxResponseBytes
                : MAX_ERROR_BODY_BYTES;
        if (HttpUtil.getContentLength(req, -1L) > limit) {
          tooLarge = true;
        }
      }
      if (msg instanceof HttpContent content && request != null) {
        ByteBuf buf = content.content();
        received += buf.readableBytes();
        if (!tooLarge && received > limit) {
          tooLarge = true;
          body = null;
        }
        if (!tooLarge) {
          byte[] bytes = new byte[buf.readableBytes()];
          buf.readBytes(bytes);
          body.writeBytes(bytes);
        }
        if (content instanceof LastHttpContent) {
          HttpRequest req = request;
          request = null;
          handle(ctx.channel(), req, tooLarge ? null : body.toByteArray(), Math.max(received, HttpUtil.getContentLength(req, 0L)));
        }
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      synchronized (lock) {
        if (parkedNext != null && parkedNext.channel() == ctx.channel()) {
          parkedNext = null;
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A malformed request or a reset connection from the function: drop that connection only.
      ctx.close();
    }
  }

  private static String path(HttpRequest req) {
    return new QueryStringDecoder(req.uri()).path();
  }

  /** Dispatches a complete request; {@code body} is null when it was over its limit. */
  private void handle(Channel ch, HttpRequest req, byte[] body, long size) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    String path = path(req);
    HttpMethod method = req.method();
    if (path.equals(VERSION_PREFIX + "/invocation/next")) {
      if (!method.equals(HttpMethod.GET)) {
        reply(ch, keepAlive, 405, "MethodNotAllowed", "invocation/next takes GET");
        return;
      }
      onNext(ch, keepAlive);
      return;
    }
    if (path.equals(VERSION_PREFIX + "/init/error")) {
      if (!method.equals(HttpMethod.POST)) {
        reply(ch, keepAlive, 405, "MethodNotAllowed", "init/error takes POST");
        return;
      }
      if (body == null) {
        reply(ch, false, 413, "RequestEntityTooLarge", "the error is larger than " + MAX_ERROR_BODY_BYTES + " bytes");
        return;
      }
      String[] error = parseError(req, body);
      listener.initFailed(error[0], error[1], error[2]);
      accepted(ch, keepAlive);
      return;
    }
    Matcher m = INVOCATION_PATH.matcher(path);
    if (!m.matches()) {
      reply(ch, keepAlive, 404, "NotFound", "no Runtime API resource at " + path);
      return;
    }
    if (!method.equals(HttpMethod.POST)) {
      reply(ch, keepAlive, 405, "MethodNotAllowed", "invocation/{id}/" + m.group(2) + " takes POST");
      return;
    }
    onAnswer(ch, keepAlive, req, m.group(1), m.group(2).equals("response"), body, size);
  }

  private void onNext(Channel ch, boolean keepAlive) {
    Event event;
    Parked replaced;
    synchronized (lock) {
      event = pending;
      pending = null;
      replaced = null;
      if (event == null) {
        // A runtime that retries next after losing its connection leaves the old one parked.
        replaced = parkedNext;
        parkedNext = new Parked(ch, keepAlive);
      }
    }
    if (replaced != null && replaced.channel() != ch) {
      replaced.channel().close();
    }
    if (event != null) {
      send(new Parked(ch, keepAlive), event);
    }
    listener.nextRequested();
  }

  private void onAnswer(
      Channel ch,
      boolean keepAlive,
      HttpRequest req,
      String requestId,
      boolean isResponse,
      byte[] body,
      long size) {
    synchronized (lock) {
      if (!requestId.equals(currentRequestId) || pending != null) {
        reply(
            ch,
            keepAlive,
            400,
            "InvalidRequestID",
            "request ID " + requestId + " is not an invocation in progress on this instance");
        return;
      }
    }
    long limit = isResponse ? maxResponseBytes : MAX_ERROR_BODY_BYTES;
    if (body == null) {
      if (claim(requestId)) {
        listener.responseTooLarge(requestId, size, limit);
      }
      reply(
          ch,
          keepAlive,
          413,
          "RequestEntityTooLarge",
          "the " + (isResponse ? "response" : "error") + " is larger than the " + limit
              + "-byte limit");
      return;
    }
    if (!claim(requestId)) {
      reply(ch, keepAlive, 400, "InvalidRequestID", "request ID " + requestId + " was already answered");
      return;
    }
    if (isResponse) {
      listener.responded(requestId, body);
    } else {
      String[] error = parseError(req, body);
      listener.failed(requestId, error[0], error[1], error[2]);
    }
    accepted(ch, keepAlive);
  }

  /** Ends the current invocation if it is still {@code requestId}; false if it already ended. */
  private boolean claim(String requestId) {
    synchronized (lock) {
      if (!requestId.equals(currentRequestId)) {
        return false;
      }
      currentRequestId = null;
      return true;
    }
  }

  /**
   * Returns {errorType, errorMessage, document} from Lambda's error body and error-type header. The
   * document (the body, re-encoded) is passed on so callers see the function's own members, e.g.
   * {@code stackTrace}, as Lambda returns them.
   *
   * <p>The body's {@code errorType} wins over the header: AWS's Java client sends the header {@code
   * Runtime.UserException} for every thrown exception and names the exception's class only in the
   * body, which is what Lambda returns to the caller. The header is the type when the body has
   * none (a plain-text body, or a runtime that sets only the header).
   */
  private static String[] parseError(HttpRequest req, byte[] body) {
    String header = req.headers().get("Lambda-Runtime-Function-Error-Type");
    String type = null;
    String message = null;
    String document = "";
    try {
      JsonNode node = JSON.readTree(body);
      if (node != null && node.isObject()) {
        String compact = JSON.writeValueAsString(node);
        if (compact.length() <= MAX_ERROR_DOCUMENT_CHARS) {
          document = compact;
        }
        if (node.hasNonNull("errorMessage")) {
          message = node.get("errorMessage").asText();
        }
        if (node.hasNonNull("errorType") && !node.get("errorType").asText().isEmpty()) {
          type = node.get("errorType").asText();
        }
      }
    } catch (IOException notJson) {
      // Runtimes may post plain text; keep it as the message.
    }
    if (message == null) {
      message = new String(body, StandardCharsets.UTF_8);
    }
    if (message.length() > 64 * 1024) {
      message = message.substring(0, 64 * 1024);
    }
    if (type == null) {
      type = header == null || header.isEmpty() ? "Unhandled" : header;
    }
    if (type.length() > 256) {
      type = type.substring(0, 256);
    }
    return new String[] {type, message, document};
  }

  private static void accepted(Channel ch, boolean keepAlive) {
    writeJson(ch, keepAlive, 202, Map.of("status", "OK"));
  }

  private static void reply(Channel ch, boolean keepAlive, int status, String type, String message) {
    Map<String, String> body = new LinkedHashMap<>();
    body.put("errorMessage", message);
    body.put("errorType", type);
    // After a refused upload the rest of the body may still be arriving: close rather than reuse.
    writeJson(ch, keepAlive && status != 413, status, body);
  }

  private static void writeJson(Channel ch, boolean keepAlive, int status, Map<String, String> body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("a map of strings always serialises", e);
    }
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(bytes));
    r.headers().set("Content-Type", "application/json");
    write(ch, r, keepAlive);
  }

  private static io.netty.channel.ChannelFuture write(Channel ch, FullHttpResponse r, boolean keepAlive) {
    HttpUtil.setContentLength(r, r.content().readableBytes());
    if (!keepAlive) {
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    io.netty.channel.ChannelFuture f = ch.writeAndFlush(r);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
    return f;
  }
}
