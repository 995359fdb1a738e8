package dev.confaas.cli;

import dev.confaas.vendor.framework.FrameworkLayers;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code confaas runtimes}: where the API a handler compiles against comes from (this CLI has the
 * {@code dev.confaas.lambda} jar; AWS's is on Maven Central), then the runtimes the gateway offers
 * to {@code confaas deploy --runtime}.
 */
@Command(
    name = "runtimes",
    mixinStandardHelpOptions = true,
    description = {
      "Show the runtimes the gateway offers for 'deploy --runtime'.",
      "For each: what it takes as handler, and where the API jar a Java handler",
      "compiles against comes from."
    },
    footer = {
      "",
      "Examples:",
      "  confaas runtimes",
      "  javac -cp \"$(confaas runtimes --api-jar java)\" -d classes Hello.java"
    })
final class RuntimesCommand implements Callable<Integer> {
  /** What {@code --handler} and the files are, per runtime; runtimes not listed: as shell. */
  static final Map<String, String> HANDLERS = Map.of(
      "shell", "--handler FILE: an executable reading the event on stdin, answering on stdout",
      "java", "--handler CLASS --jar JAR: a dev.confaas.lambda.Handler or StringHandler class",
      "java-aws", "--handler pkg.Class::method --jar JAR: AWS's RequestHandler,"
          + " RequestStreamHandler or any public method",
      "provided", "--bootstrap FILE --handler VALUE [--file F]: your own runtime, as AWS's"
          + " provided.al2023");

  @Spec CommandSpec spec;
  @Mixin GatewayClient.Options gateway;

  @Option(names = "--api-jar", paramLabel = "RUNTIME",
      description = "Print only the path of the handler API jar for RUNTIME (java) and exit.")
  String apiJar;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (apiJar != null) {
      if (!apiJar.equals("java")) {
        throw new Main.CliException("--api-jar knows the java runtime's jar only; for java-aws"
            + " use " + awsCore() + " from Maven Central");
      }
      Path jar = javaApiLocation();
      if (!Files.isRegularFile(jar)) {
        throw new Main.CliException(notAJar(jar));
      }
      out.println(jar);
      return 0;
    }
    Path jar = javaApiLocation();
    out.println("Handler APIs to compile against:");
    out.println("  java:     dev.confaas.lambda (Handler, StringHandler, Context): "
        + (Files.isRegularFile(jar) ? jar : notAJar(jar)));
    out.println("  java-aws: " + awsCore() + " from Maven Central"
        + " (the layer brings it at run time: do not bundle it)");
    out.println();
    JsonObject offered = new JsonObject(
        GatewayClient.check(gateway.client().get("/v1/runtimes"), "list runtimes").text());
    if (offered.isEmpty()) {
      out.println("The gateway offers no runtimes yet (the platform publishes its framework layers"
          + " when it starts).");
      return 0;
    }
    out.println(String.format("%-10s %s", "RUNTIME", "HANDLER / LAYER"));
    for (String name : new java.util.TreeSet<>(offered.fieldNames())) {
      out.println(String.format("%-10s %s", name, HANDLERS.getOrDefault(name, HANDLERS.get("shell"))));
      out.println(String.format("%-10s layer %s", "", offered.getJsonObject(name).getString("layer")));
    }
    return 0;
  }

  /** Where this CLI loads the confaas-java-runtime classes from: its jar, in a built CLI. */
  static Path javaApiLocation() {
    try {
      return FrameworkLayers.javaRuntimeApiLocation();
    } catch (IOException e) {
      throw new Main.CliException(e.getMessage(), e);
    }
  }

  /** When run from the build tree's class directories. */
  static String notAJar(Path classes) {
    return "this CLI loads dev.confaas.lambda from " + classes + ", not a jar; 'mvn -B -q -pl"
        + " vendor-layers/frameworks/java-runtime package' builds"
        + " vendor-layers/frameworks/java-runtime/target/confaas-java-runtime-*.jar (bin/confaas"
        + " puts it in cli/target/lib/)";
  }

  /** Maven coordinates of the aws-lambda-java-core the java-aws layer carries. */
  static String awsCore() throws IOException {
    List<String> jars = FrameworkLayers.awsRuntimeJarNames();
    String prefix = "aws-lambda-java-core-";
    for (String j : jars) {
      if (j.startsWith(prefix) && j.endsWith(".jar")) {
        return "com.amazonaws:aws-lambda-java-core:"
            + j.substring(prefix.length(), j.length() - ".jar".length());
      }
    }
    return "com.amazonaws:aws-lambda-java-core";
  }
}
