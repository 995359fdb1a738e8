package dev.confaas.lambda;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Java runtime's entry point: loads the handler class named by {@code _HANDLER} from {@code
 * LAMBDA_TASK_ROOT} and serves it events from the Runtime API at {@code AWS_LAMBDA_RUNTIME_API}
 * until the API goes away. Entry point of a Java function's manifest:
 *
 * <pre>
 * ["/opt/java/bin/java", "-XX:+UseSerialGC", "-Xshare:auto",
 *  "-cp", "/opt/confaas/java-runtime.jar", "dev.confaas.lambda.Bootstrap"]
 * </pre>
 *
 * <p>The handler's classes are found in {@code LAMBDA_TASK_ROOT} itself (a class directory), in
 * every {@code *.jar} there and in every {@code lib/*.jar} (jars in name order). Failing to load
 * it is reported on {@code /runtime/init/error} with one of these error types, then the process
 * exits with status 1: {@code Runtime.HandlerNotSet} ({@code _HANDLER} empty), {@code
 * Runtime.HandlerNotFound} (no such class), {@code Runtime.InvalidHandler} (not a {@link Handler},
 * abstract, or no public no-argument constructor), {@code Runtime.HandlerInitFailed} (its
 * constructor or static initializer threw). A handler's exception is reported on the invocation's
 * {@code /error} with the exception's class name as {@code errorType}; the process carries on.
 */
public final class Bootstrap {
  private final RuntimeApiClient api;
  private final Map<String, String> env;
  private final Clock clock;
  private final PrintStream log;

  Bootstrap(RuntimeApiClient api, Map<String, String> env, Clock clock, PrintStream log) {
    this.api = api;
    this.env = env;
    this.clock = clock;
    this.log = log;
  }

  public static void main(String[] args) {
    Map<String, String> env = System.getenv();
    RuntimeApiClient api;
    try {
      api = new RuntimeApiClient(env.get("AWS_LAMBDA_RUNTIME_API"));
    } catch (IllegalArgumentException e) {
      System.err.println("confaas-java-runtime: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(new Bootstrap(api, env, Clock.systemUTC(), System.err).run());
  }

  /**
   * Loads the handler and serves events; returns the process exit status once it cannot go on: 1
   * after an init error or when the Runtime API fails (the agent then replaces the instance).
   */
  int run() {
    Handler handler;
    try {
      handler = loadHandler();
    } catch (InitException e) {
      log.println("confaas-java-runtime: init error " + e.type + ": " + e.getMessage());
      try {
        api.initError(ErrorReport.of(e.type, e.getMessage(), e.getCause()));
      } catch (IOException io) {
        log.println("confaas-java-runtime: could not report the init error: " + io.getMessage());
      }
      return 1;
    }
    try {
      while (true) {
        RuntimeApiClient.Event event = api.next();
        Context context = context(event);
        byte[] response;
        try {
          response = handler.handle(event.payload(), context);
        } catch (Throwable t) { // an Error too: report it rather than vanish without an answer
          api.error(event.requestId(), ErrorReport.of(t));
          continue;
        }
        api.respond(event.requestId(), response == null ? new byte[0] : response);
      }
    } catch (IOException e) {
      log.println("confaas-java-runtime: Runtime API failed, exiting: " + e.getMessage());
      return 1;
    }
  }

  private Context context(RuntimeApiClient.Event e) {
    int memory;
    try {
      memory = Integer.parseInt(env.getOrDefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0").trim());
    } catch (NumberFormatException x) {
      memory = 0;
    }
    return new Context(
        e.requestId(),
        Instant.ofEpochMilli(e.deadlineMs()),
        e.functionArn() == null ? "" : e.functionArn(),
        e.traceId(),
        e.clientContext(),
        e.cognitoIdentity(),
        env.getOrDefault("AWS_LAMBDA_FUNCTION_NAME", ""),
        env.getOrDefault("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        memory,
        clock);
  }

  private static final class InitException extends Exception {
    private static final long serialVersionUID = 1L;
    final String type;

    InitException(String type, String message, Throwable cause) {
      super(message, cause);
      this.type = type;
    }
  }

  Handler loadHandler() throws InitException {
    String name = env.getOrDefault("_HANDLER", "").trim();
    if (name.isEmpty()) {
      throw new InitException("Runtime.HandlerNotSet",
          "_HANDLER is empty; set it to the fully qualified name of a class implementing "
              + Handler.class.getName(), null);
    }
    Path root = Path.of(env.getOrDefault("LAMBDA_TASK_ROOT", "/var/task"));
    ClassLoader loader;
    try {
      loader = new URLClassLoader("handler", taskClassPath(root),
          Bootstrap.class.getClassLoader());
    } catch (IOException e) {
      throw new InitException("Runtime.HandlerNotFound",
          "cannot list LAMBDA_TASK_ROOT " + root + ": " + e.getMessage(), e);
    }
    Class<?> cls;
    try {
      cls = Class.forName(name, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new InitException("Runtime.HandlerNotFound",
          "handler class " + name + " (from _HANDLER) is not in " + root + ", its *.jar or lib/*.jar"
              + (e instanceof LinkageError ? " or cannot be linked: " + e : ""), e);
    }
    if (!Handler.class.isAssignableFrom(cls)) {
      throw new InitException("Runtime.InvalidHandler",
          "handler class " + name + " does not implement " + Handler.class.getName() + " (or "
              + StringHandler.class.getName() + ")", null);
    }
    try {
      return (Handler) cls.getConstructor().newInstance();
    } catch (NoSuchMethodException | InstantiationException | IllegalAccessException e) {
      throw new InitException("Runtime.InvalidHandler",
          "handler class " + name + " needs to be a public, concrete class with a public"
              + " no-argument constructor (" + e + ")", e);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      throw new InitException("Runtime.HandlerInitFailed",
          "constructing handler " + name + " threw " + cause, cause);
    } catch (ExceptionInInitializerError e) {
      throw new InitException("Runtime.HandlerInitFailed",
          "initializing handler class " + name + " threw " + e.getCause(), e.getCause());
    }
  }

  /** The task root itself, then its jars and lib/ jars in name order. */
  static URL[] taskClassPath(Path root) throws IOException {
    List<URL> urls = new ArrayList<>();
    urls.add(url(root));
    for (Path dir : List.of(root, root.resolve("lib"))) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      List<Path> jars = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
        ds.forEach(jars::add);
      }
      jars.sort(null);
      for (Path j : jars) {
        urls.add(url(j));
      }
    }
    return urls.toArray(new URL[0]);
  }

  private static URL url(Path p) throws MalformedURLException {
    return p.toUri().toURL();
  }
}
