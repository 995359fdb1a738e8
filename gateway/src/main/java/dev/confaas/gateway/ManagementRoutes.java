package dev.confaas.gateway;

import dev.confaas.image.Digest;
import dev.confaas.scheduler.DeployedFunction;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.io.InputStream;
import java.io.IOException;
import dev.confaas.image.ManifestException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The management routes: deploy (the {@link DeployBundle} format), list, get, delete, aliases. The
 * registry's disk and crypto work runs on worker threads.
 */
final class ManagementRoutes {
  private static final Pattern LAYER_NAME =
      Pattern.compile("(sha[0-9]+)[-: /]([0-9a-f]+)");

  private final FunctionRegistry registry;

  ManagementRoutes(FunctionRegistry registry) {
    this.registry = registry;
  }

  void deploy(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
      Problem.of(Problem.Reason.UNSUPPORTED_MEDIA_TYPE, "a deploy is multipart/form-data with"
          + " parts config, manifest, signature, certificate and layer (one per uploaded layer);"
          + " see gateway/README.md").send(ctx);
      return;
    }
    List<FileUpload> uploads = new ArrayList<>(ctx.fileUploads());
    String configField = ctx.request().getFormAttribute("config");
    ctx.vertx().executeBlocking(() -> {
      String configJson = configField;
      byte[] manifest = null;
      byte[] signature = null;
      byte[] certificate = null;
      List<FunctionRegistry.UploadedLayer> layers = new ArrayList<>();
      for (FileUpload u : uploads) {
        Path file = Path.of(u.uploadedFileName());
        switch (u.name()) {
          case "config" -> configJson = Files.readString(file, StandardCharsets.UTF_8);
          case "manifest" -> manifest = readManifest(file);
          case "signature" -> signature = Files.readAllBytes(file);
          case "certificate" -> certificate = Files.readAllBytes(file);
          case "layer" ->
              layers.add(new FunctionRegistry.UploadedLayer(claimed(u.fileName()), file));
          default -> throw new DeployException(Problem.Reason.INVALID_BUNDLE,
              "unknown part \"" + u.name()
              + "\"; parts are config, manifest, signature, certificate, layer");
        }
      }
      if (configJson == null || manifest == null || signature == null || certificate == null) {
        throw new DeployException(Problem.Reason.INVALID_BUNDLE, "the deploy bundle lacks part(s):"
            + (configJson == null ? " config" : "") + (manifest == null ? " manifest" : "")
            + (signature == null ? " signature" : "")
            + (certificate == null ? " certificate" : ""));
      }
      FunctionConfig cfg = FunctionConfig.parse(configJson);
      return registry.deploy(new FunctionRegistry.DeployRequest(cfg, manifest, signature,
          certificate, layers));
    }, false).onComplete(ar -> {
      if (ar.failed()) {
        Problems.management(ar.cause()).send(ctx);
        return;
      }
      FunctionRegistry.Deployment d = ar.result();
      DeployedFunction fn = d.function();
      JsonObject o = new JsonObject()
          .put("name", fn.name())
          .put("version", fn.version())
          .put("imageId", fn.imageId())
          .put("dependencies", new JsonArray(new ArrayList<>(fn.dependencies())));
      if (d.invokeToken() != null) {
        o.put("invokeToken", d.invokeToken());
      }
      ctx.response().putHeader("Location", "/v1/functions/" + fn.name());
      Gateway.json(ctx, 201, o);
    });
  }

  /** The manifest part, refused past the image limits' manifest size before it is read whole. */
  private byte[] readManifest(Path file) throws IOException, DeployException {
    try (InputStream in = Files.newInputStream(file)) {
      return registry.images().limits().readManifest(in);
    } catch (ManifestException e) {
      throw new DeployException(Problem.Reason.IMAGE_LIMIT, e.getMessage());
    }
  }

  /**
   * A layer part's file name is its digest, {@code sha384-<hex>} ({@code sha384:<hex>} is accepted
   * too, though multipart decoders may mangle the colon).
   */
  private static Digest claimed(String fileName) throws DeployException {
    String s = fileName == null ? "" : fileName.strip();
    Matcher m = LAYER_NAME.matcher(s);
    try {
      if (m.matches()) {
        return Digest.parse(m.group(1) + "/" + m.group(2));
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw new DeployException(Problem.Reason.INVALID_LAYER,
        "layer part file name \"" + fileName + "\" is not a"
        + " digest; name each layer part by its digest, sha384-<96 hex digits> (SHA-384 of the"
        + " uncompressed tar)");
  }

  void listFunctions(RoutingContext ctx) {
    JsonArray a = new JsonArray();
    for (FunctionRegistry.FunctionInfo f : registry.list()) {
      a.add(f.toJson());
    }
    ctx.response().putHeader("Content-Type", "application/json").end(a.encode());
  }

  void getFunction(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Optional<FunctionRegistry.FunctionInfo> f = registry.get(name);
    if (f.isEmpty()) {
      Problem.of(Problem.Reason.NOT_FOUND, "no function named \"" + name + "\"; list them with"
          + " GET /v1/functions").send(ctx);
    } else {
      Gateway.json(ctx, 200, f.get().toJson());
    }
  }

  void deleteFunction(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    ctx.vertx().executeBlocking(() -> registry.delete(name), false).onComplete(ar -> {
      if (ar.failed()) {
        Problems.management(ar.cause()).send(ctx);
      } else if (!ar.result()) {
        Problem.of(Problem.Reason.NOT_FOUND, "no function named \"" + name + "\"; list them with"
            + " GET /v1/functions").send(ctx);
      } else {
        Gateway.json(ctx, 200, new JsonObject().put("deleted", name));
      }
    });
  }

  void putAlias(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String alias = ctx.pathParam("alias");
    String usage = "send {\"version\": N} to point alias \"" + alias + "\" at version N";
    Integer version;
    try {
      JsonObject body = ctx.body().asJsonObject();
      version = body == null ? null : body.getInteger("version");
    } catch (DecodeException e) {
      Problem.of(Problem.Reason.INVALID_JSON, "the body is not valid JSON (" + e.getMessage()
          + "); " + usage).send(ctx);
      return;
    } catch (ClassCastException e) {
      version = null;
    }
    if (version == null) {
      Problem.of(Problem.Reason.INVALID_ALIAS, usage).send(ctx);
      return;
    }
    int v = version;
    ctx.vertx().executeBlocking(() -> registry.setAlias(name, alias, v), false).onComplete(ar -> {
      if (ar.failed()) {
        Problems.management(ar.cause()).send(ctx);
      } else {
        Gateway.json(ctx, 200, ar.result().toJson());
      }
    });
  }
}
