package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.LayerRef;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import dev.confaas.vendor.VendorLayerRegistry;
import dev.confaas.vendor.framework.FrameworkLayers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vendor's real framework layers (vendor-layers {@link FrameworkLayers}), published into a
 * vendor registry and loaded from there into a process-backend TD, each with a function image that
 * holds only its handler and names the framework by alias.
 */
class FrameworkFunctionsTest {
  @TempDir static Path tmp;
  private static ProcessTdLauncher launcher;
  private static AttestedTd td;
  private static VendorLayerRegistry registry;
  private static List<FrameworkLayers.PublishedLayer> published;
  private static SigningKeys author;

  @BeforeAll
  static void publishAndBoot() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "busybox-static is not installed");
    assumeTrue(
        Files.isDirectory(Path.of(System.getProperty("java.home"), "jmods")),
        "this JDK has no jmods to jlink");
    // The jlinked JRE is cached across runs of this module's tests.
    FrameworkLayers layers = FrameworkLayers.onThisHost(Path.of("target", "framework-cache"));
    registry = VendorLayerRegistry.open(tmp.resolve("registry"));
    SigningKeys vendor = SigningKeys.generate("vendor", Clock.systemUTC());
    published = layers.publish(registry, vendor.signer(), 1, tmp.resolve("build"));
    author = SigningKeys.generate("author", Clock.systemUTC());
    launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")));
    td = launcher.attestor().attest(launcher.launch("td-frameworks"));
  }

  @AfterAll
  static void shutDown() {
    if (td != null) {
      td.close();
    }
    if (launcher != null) {
      launcher.close();
    }
  }

  /** Loads the runtime's vendor manifest and layer as the registry holds them. */
  private static AliasRef loadFramework(FrameworkLayers.Runtime runtime) throws Exception {
    FrameworkLayers.PublishedLayer p =
        published.stream().filter(l -> l.runtime() == runtime).findFirst().orElseThrow();
    SignedManifest vendorImage = registry.repository().getImage(p.vendorImage()).orElseThrow();
    AddManifestResponse r =
        TestImages.await(
            td.agent()
                .addManifest(
                    AddManifestRequest.newBuilder()
                        .setManifest(ByteString.copyFrom(vendorImage.manifest().canonicalBytes()))
                        .setSignature(ByteString.copyFrom(vendorImage.signature()))
                        .setCertificate(ByteString.copyFrom(vendorImage.certificateDer()))
                        .build()));
    assertEquals(List.of(p.digest().toString()), r.getMissingLayersList());
    TestImages.addBlob(td.agent(), registry.repository().blobPath(p.digest()));
    return p.alias();
  }

  /** Signs and loads a function image: the framework by alias below, the handler's layer on top. */
  private static String loadFunction(
      AliasRef framework, FrameworkLayers.Runtime runtime, Path layerDir, String handler)
      throws Exception {
    Path tar = TestImages.tar(layerDir);
    Digest fn = TestImages.digest(tar);
    Manifest m =
        Manifest.builder()
            .layers(List.<LayerRef>of(framework, fn))
            .entrypoint(runtime.entrypoint())
            .addEnv("_HANDLER=" + handler)
            .workingDir("/var/task")
            .maxInstances(1)
            .build();
    AddManifestResponse r = TestImages.addManifest(td.agent(), author, m);
    assertEquals(List.of(fn.toString()), r.getMissingLayersList());
    TestImages.addBlob(td.agent(), tar);
    return r.getImageId();
  }

  private static String invoke(String instanceId, String event) {
    InvokeResponse r =
        TestImages.await(
            td.agent()
                .invoke(
                    InvokeRequest.newBuilder()
                        .setInstanceId(instanceId)
                        .setPayload(ByteString.copyFromUtf8(event))
                        .setTimeoutMs(30_000)
                        .build(),
                    Duration.ofSeconds(120)));
    assertEquals(InvokeResponse.OutcomeCase.PAYLOAD, r.getOutcomeCase(), r.toString());
    return r.getPayload().toStringUtf8();
  }

  private static String start(String imageId, String functionName) {
    return TestImages.await(
            td.agent()
                .start(
                    StartRequest.newBuilder()
                        .setImageId(imageId)
                        .addEnv("AWS_LAMBDA_FUNCTION_NAME=" + functionName)
                        .build()))
        .getInstanceId();
  }

  @Test
  void aShellFunctionRunsOnTheVendorShellRuntime() throws Exception {
    AliasRef shell = loadFramework(FrameworkLayers.Runtime.SHELL);
    Path layer = Files.createDirectories(tmp.resolve("shell-fn/var/task"));
    Path handler = layer.resolve("upper.sh");
    Files.writeString(
        handler, "#!/bin/sh\ntr 'a-z' 'A-Z'\nprintf ' in %s' \"$AWS_LAMBDA_FUNCTION_NAME\"\n");
    Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    String image =
        loadFunction(shell, FrameworkLayers.Runtime.SHELL, tmp.resolve("shell-fn"), "upper.sh");
    String instance = start(image, "shouty");
    assertEquals("HELLO SHELL in shouty", invoke(instance, "hello shell"));
  }

  @Test
  void aJavaFunctionRunsOnTheVendorJavaRuntime() throws Exception {
    AliasRef java = loadFramework(FrameworkLayers.Runtime.JAVA);
    String classFile = UpperJavaHandler.class.getName().replace('.', '/') + ".class";
    Path compiled =
        Path.of(UpperJavaHandler.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path target = tmp.resolve("java-fn/var/task").resolve(classFile);
    Files.createDirectories(target.getParent());
    Files.copy(compiled.resolve(classFile), target);
    String image =
        loadFunction(
            java,
            FrameworkLayers.Runtime.JAVA,
            tmp.resolve("java-fn"),
            UpperJavaHandler.class.getName());
    String instance = start(image, "orders");
    assertEquals("HELLO JAVA from orders", invoke(instance, "hello java"));
  }
}
