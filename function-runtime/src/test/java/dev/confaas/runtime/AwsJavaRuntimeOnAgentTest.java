package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.confaas.image.LayerUnpacker;
import dev.confaas.vendor.framework.FrameworkLayers;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AWS's Lambda Java runtime interface client, from the vendor's {@code confaas-java17} layer (the
 * {@code java-aws} runtime), served by this agent's own Runtime API: the image's two layers (vendor
 * below, the function's jar above) stacked as the agent stacks a loaded image's layers.
 */
class AwsJavaRuntimeOnAgentTest {
  @TempDir static Path tmp;
  private static InstanceSupervisor supervisor;
  private static FunctionSpec spec;

  /** An AWS handler as a plain class (AWS's client takes any public method by name). */
  public static class Shout {
    public String handle(Map<String, Object> event) {
      if (event.containsKey("fail")) {
        throw new IllegalArgumentException("cannot shout " + event.get("fail"));
      }
      return String.valueOf(event.get("say")).toUpperCase(java.util.Locale.ROOT) + " from "
          + System.getenv("AWS_LAMBDA_FUNCTION_NAME");
    }
  }

  @BeforeAll
  static void start() throws Exception {
    supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(tmp.resolve("state")));
    FrameworkLayers.BuiltLayer vendor = FrameworkLayers.onThisHost(Path.of("target", "framework-cache"))
        .build(FrameworkLayers.Runtime.JAVA_AWS, tmp.resolve("built"));
    Path vendorDir = Files.createDirectories(tmp.resolve("layers/vendor"));
    LayerUnpacker.unpack(vendor.tar(), vendorDir);
    Path fnDir = tmp.resolve("layers/function");
    Path jar = fnDir.resolve("var/task/lib/shout.jar");
    Files.createDirectories(jar.getParent());
    String file = Shout.class.getName().replace('.', '/') + ".class";
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        InputStream in = Shout.class.getClassLoader().getResourceAsStream(file)) {
      out.putNextEntry(new JarEntry(file));
      out.write(in.readAllBytes());
      out.closeEntry();
    }
    for (Path d : List.of(tmp, tmp.resolve("layers"), vendorDir, fnDir)) {
      Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    spec = FunctionSpec.builder("aws-java", fnDir, FrameworkLayers.Runtime.JAVA_AWS.entrypoint())
        .layout(FunctionSpec.RootLayout.FULL_ROOTFS)
        .layers(List.of(vendorDir, fnDir))
        .workingDir(FunctionSpec.TASK_ROOT)
        .handler(Shout.class.getName() + "::handle")
        .name("shouter")
        .memoryMb(256)
        .maxInstances(1)
        .initTimeout(Duration.ofSeconds(60))
        .build();
  }

  @AfterAll
  static void stop() {
    if (supervisor != null) {
      supervisor.close();
    }
  }

  private static InstanceOutcome call(String event) throws Exception {
    return supervisor
        .invoke(spec, Invocation.of(event.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30)))
        .get(90, TimeUnit.SECONDS);
  }

  @Test
  void awsClientAnswersAndReportsAThrownException() throws Exception {
    assumeTrue(supervisor.isolation().namespaces(), "this host allows no namespaces");
    InstanceOutcome ok = call("{\"say\":\"hello\"}");
    assertTrue(ok.succeeded(), "AWS's client did not answer: " + ok.failure());
    assertEquals("\"HELLO from shouter\"", new String(ok.payload(), StandardCharsets.UTF_8));

    InstanceOutcome failed = call("{\"fail\":\"quietly\"}");
    FunctionFailure f = failed.error().orElseThrow(() -> new AssertionError("no failure"));
    assertEquals(FunctionFailure.Kind.HANDLED, f.kind(), f.toString());
    assertTrue(f.message().contains("cannot shout quietly"), f.toString());
    // AWS's client sends the header Runtime.UserException; the class is in its error document.
    assertEquals("java.lang.IllegalArgumentException", f.type(), f.toString());
    assertTrue(f.document().contains("\"stackTrace\":[\"") && f.document().contains("Shout.handle"),
        "the client's stack trace must be kept: " + f.document());

    InstanceOutcome again = call("{\"say\":\"still here\"}");
    assertEquals("\"STILL HERE from shouter\"", new String(again.payload(), StandardCharsets.UTF_8),
        "the same warm instance should answer after a handled error");
    assertEquals(ok.instanceId(), again.instanceId());
  }
}
