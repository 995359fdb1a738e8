package dev.confaas.platform;

import dev.confaas.gateway.RuntimeCatalog;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.ImageSigner;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds and signs the image of a function on one of the platform's runtimes: one layer holding the
 * author's files under {@code /var/task/} on top of the runtime's vendor framework layer, named by
 * alias so the vendor can update it without the author signing again (ACON FS-layer aliases). Used
 * by {@code confaas deploy --runtime} and by the platform for its sample function.
 */
public final class FunctionImageBuilder {
  private FunctionImageBuilder() {}

  /** A built, signed function image and its one layer. */
  public record Built(SignedManifest signed, Digest layer, Path layerTar) {}

  /**
   * @param runtime the runtime as {@code GET /v1/runtimes} describes it
   * @param taskDir the files that go to {@code /var/task/} (the handler, a jar, ...)
   * @param handler the {@code _HANDLER} value (script file name or class name)
   * @param maxInstances the manifest's {@code maxInstances}: instances of this image one TD may run
   *     at once (ACON's default, 1, would give every concurrent call a TD of its own)
   * @param signer the author's key
   * @param layerTar where to write the function layer
   * @throws IllegalArgumentException when the runtime's layer is not an alias reference
   */
  public static Built build(
      RuntimeCatalog.Runtime runtime,
      Path taskDir,
      String handler,
      int maxInstances,
      ImageSigner signer,
      Path layerTar)
      throws IOException {
    Digest layer = LayerTar.write(taskDir, "var/task/", layerTar);
    Manifest.Builder m = Manifest.builder();
    m.addLayer(AliasRef.parse(runtime.layer()));
    m.addLayer(layer);
    m.entrypoint(runtime.entrypoint());
    // The agent gives FULL_ROOTFS functions their working directory as LAMBDA_TASK_ROOT.
    m.workingDir("/var/task");
    m.maxInstances(maxInstances);
    // ACON logFDs: the descriptors whose output may leave the TD. Authors expect to see what their
    // function prints (as on Lambda), so both stdout and stderr are captured.
    m.addLogFD(1);
    m.addLogFD(2);
    for (String e : runtime.env()) {
      m.addEnv(e);
    }
    m.addEnv("_HANDLER=" + handler);
    return new Built(signer.signed(m.build()), layer, layerTar);
  }

  /** Shorthand used where the runtime arrives as parts (e.g. from JSON). */
  public static RuntimeCatalog.Runtime runtime(String layer, List<String> entrypoint, List<String> env) {
    return new RuntimeCatalog.Runtime(layer, entrypoint, env);
  }
}
