package dev.confaas.cli;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the gateway is and which management token to send, found the way the README promises:
 * {@code CONFAAS_URL} / {@code CONFAAS_TOKEN} first, else the files {@code confaas up} writes into its
 * data directory ({@code CONFAAS_DATA_DIR}, else {@link #defaultDataDir()}).
 *
 * <p>Data directory files read here: {@code gateway.url} (one line, e.g. {@code
 * http://127.0.0.1:8080}) and {@code admin.token} (one line, mode 0600).
 */
record GatewayEndpoint(URI url, String token) {

  /** The file in the data directory that holds the gateway's base URL. */
  public static final String URL_FILE = "gateway.url";

  /** The file in the data directory that holds the management API token. */
  public static final String TOKEN_FILE = "admin.token";

  /** {@code $HOME/.confaas}: where {@code confaas up} keeps its state unless told otherwise. */
  public static Path defaultDataDir() {
    return Path.of(System.getProperty("user.home"), ".confaas");
  }

  /** The data directory in force: {@code CONFAAS_DATA_DIR}, else {@link #defaultDataDir()}. */
  public static Path dataDir(Map<String, String> env) {
    String dir = env.get("CONFAAS_DATA_DIR");
    return dir == null || dir.isBlank() ? defaultDataDir() : Path.of(dir);
  }

  /** Resolves the endpoint from the process environment. */
  public static GatewayEndpoint resolve() {
    return resolve(System.getenv());
  }

  /**
   * Resolves the endpoint from {@code env}; throws {@link Main.CliException} naming what to set when
   * neither the environment nor the data directory says where the gateway is.
   */
  public static GatewayEndpoint resolve(Map<String, String> env) {
    Path dataDir = dataDir(env);
    String url = env.get("CONFAAS_URL");
    if (url == null || url.isBlank()) {
      url = readLine(dataDir.resolve(URL_FILE));
    }
    if (url == null) {
      throw new Main.CliException(
          "no gateway: set CONFAAS_URL, or start one with 'bin/confaas up' (looked for "
              + dataDir.resolve(URL_FILE)
              + ")");
    }
    String token = env.get("CONFAAS_TOKEN");
    if (token == null || token.isBlank()) {
      token = readLine(dataDir.resolve(TOKEN_FILE));
    }
    URI uri;
    try {
      uri = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
    } catch (IllegalArgumentException e) {
      throw new Main.CliException("CONFAAS_URL is not a URL: " + url);
    }
    return new GatewayEndpoint(uri, token);
  }

  private static String readLine(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      return s.isEmpty() ? null : s;
    } catch (IOException e) {
      return null;
    }
  }
}
