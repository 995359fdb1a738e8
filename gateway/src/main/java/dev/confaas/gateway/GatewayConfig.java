package dev.confaas.gateway;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * How the gateway listens and what it allows. Build with {@link #builder(Path)}; every setting but
 * the data directory has a default.
 *
 * @param host address to bind (default {@code 127.0.0.1})
 * @param port port to bind; 0 picks a free one ({@link Gateway#start()} returns it)
 * @param dataDir the platform's data directory ({@code admin.token}, {@code gateway.url}, uploads)
 * @param maxBodyBytes largest invocation event accepted (default 6 MiB); larger gets 413
 * @param maxDeployBytes largest deploy bundle accepted (default 512 MiB)
 * @param adminToken the management token; {@code null} = read {@code admin.token} from the data
 *     directory, generating it (32 random bytes, base64url, mode 0600) on first start
 * @param idleTimeout a connection idle this long is closed
 * @param shutdownGrace how long {@link Gateway#close()} lets in-flight invocations finish
 * @param queueAllowance added to a function's timeout to form the deadline of an invocation that
 *     names none ({@code X-Confaas-Timeout-Ms})
 * @param clock where deadlines and timestamps come from
 * @param runtimes what {@code GET /v1/runtimes} offers
 * @param mounts extra routers (e.g. the Kafka trigger API at {@code /v1/triggers})
 * @param connections how many connections the gateway holds open, and for how long one may stay
 *     silent
 */
public record GatewayConfig(
    String host,
    int port,
    Path dataDir,
    long maxBodyBytes,
    long maxDeployBytes,
    String adminToken,
    Duration idleTimeout,
    Duration shutdownGrace,
    Duration queueAllowance,
    Clock clock,
    RuntimeCatalog runtimes,
    List<Mount> mounts,
    ConnectionLimits connections) {

  public static final long DEFAULT_MAX_BODY_BYTES = 6L * 1024 * 1024;

  public GatewayConfig {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(runtimes, "runtimes");
    Objects.requireNonNull(connections, "connections");
    mounts = List.copyOf(mounts);
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, was " + port);
    }
    if (maxBodyBytes < 1 || maxDeployBytes < 1) {
      throw new IllegalArgumentException("body limits must be positive");
    }
  }

  /**
   * A router mounted under {@code prefix} (e.g. {@code /v1/triggers}), created once the gateway's
   * Vert.x instance exists. As with Vert.x sub-routers, its routes are relative to the prefix: a
   * route {@code /} answers {@code PREFIX}, a route {@code /:id} answers {@code PREFIX/ID}. Its
   * routes add their own body handlers.
   *
   * @param adminOnly whether the management token is required for everything under the prefix
   */
  public record Mount(String prefix, Function<Vertx, Router> router, boolean adminOnly) {
    public Mount {
      if (!prefix.startsWith("/") || prefix.endsWith("/")) {
        throw new IllegalArgumentException(
            "mount prefix must start and not end with '/', was \"" + prefix + "\"");
      }
      Objects.requireNonNull(router, "router");
    }
  }

  public static Builder builder(Path dataDir) {
    return new Builder(dataDir);
  }

  /** Builds a {@link GatewayConfig}. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 0;
    private final Path dataDir;
    private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private long maxDeployBytes = 512L * 1024 * 1024;
    private String adminToken;
    private Duration idleTimeout = Duration.ofSeconds(120);
    private Duration shutdownGrace = Duration.ofSeconds(30);
    private Duration queueAllowance = Duration.ofSeconds(10);
    private Clock clock = Clock.systemUTC();
    private RuntimeCatalog runtimes = new RuntimeCatalog();
    private final List<Mount> mounts = new ArrayList<>();
    private int maxConnections = 0;
    private int maxConnectionsPerClient = ConnectionLimits.DEFAULT_PER_CLIENT;
    private Duration requestHeaderTimeout = ConnectionLimits.DEFAULT_HEADER_TIMEOUT;

    private Builder(Path dataDir) {
      this.dataDir = dataDir;
    }

    public Builder host(String v) {
      host = v;
      return this;
    }

    public Builder port(int v) {
      port = v;
      return this;
    }

    public Builder maxBodyBytes(long v) {
      maxBodyBytes = v;
      return this;
    }

    public Builder maxDeployBytes(long v) {
      maxDeployBytes = v;
      return this;
    }

    public Builder adminToken(String v) {
      adminToken = v;
      return this;
    }

    public Builder idleTimeout(Duration v) {
      idleTimeout = v;
      return this;
    }

    public Builder shutdownGrace(Duration v) {
      shutdownGrace = v;
      return this;
    }

    public Builder queueAllowance(Duration v) {
      queueAllowance = v;
      return this;
    }

    public Builder clock(Clock v) {
      clock = v;
      return this;
    }

    public Builder runtimes(RuntimeCatalog v) {
      runtimes = v;
      return this;
    }

    /** Mounts {@code router} under {@code prefix}, behind the management token. */
    public Builder mount(String prefix, Function<Vertx, Router> router) {
      mounts.add(new Mount(prefix, router, true));
      return this;
    }

    public Builder mount(Mount m) {
      mounts.add(m);
      return this;
    }

    /** Connections held open at once; 0 (the default) derives it from the descriptor limit. */
    public Builder maxConnections(int v) {
      maxConnections = v;
      return this;
    }

    /** Connections one client address may hold open at once. */
    public Builder maxConnectionsPerClient(int v) {
      maxConnectionsPerClient = v;
      return this;
    }

    /** How long a new connection may take to send its first request's headers. */
    public Builder requestHeaderTimeout(Duration v) {
      requestHeaderTimeout = v;
      return this;
    }

    public GatewayConfig build() {
      return new GatewayConfig(host, port, dataDir, maxBodyBytes, maxDeployBytes, adminToken,
          idleTimeout, shutdownGrace, queueAllowance, clock, runtimes, mounts,
          ConnectionLimits.of(maxConnections, maxConnectionsPerClient, requestHeaderTimeout));
    }
  }
}
