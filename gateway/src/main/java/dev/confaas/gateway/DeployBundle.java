package dev.confaas.gateway;

import dev.confaas.image.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The body of {@code POST /v1/functions}: a {@code multipart/form-data} message with the parts
 *
 * <pre>
 * config       JSON {"name", "concurrency", "timeoutMs", "memoryMb", "invokeAuth"}
 *              (form field or file)
 * manifest     the ACON manifest bytes as signed (file)
 * signature    the raw signature over the canonical manifest (file)
 * certificate  the signer's certificate, DER (file)
 * layer        zero or more layer tars, plain or gzip (file); each part's file name is the layer's
 *              digest written sha384-&lt;hex&gt; (SHA-384 of the uncompressed tar)
 * </pre>
 *
 * <p>Only layers the gateway does not already hold need to be sent; vendor framework layers named
 * by alias are never sent (the gateway resolves them through its vendor registry). The CLI writes
 * the bundle with this class, so both sides agree on it.
 */
public final class DeployBundle {
  private final String boundary;
  private final List<Part> parts = new ArrayList<>();

  private record Part(String name, String fileName, byte[] bytes, Path file) {}

  public DeployBundle() {
    byte[] b = new byte[16];
    new SecureRandom().nextBytes(b);
    boundary = "confaas-" + HexFormat.of().formatHex(b);
  }

  /** The {@code Content-Type} header value to send with {@link #writeTo}. */
  public String contentType() {
    return "multipart/form-data; boundary=" + boundary;
  }

  public DeployBundle config(String json) {
    parts.add(new Part("config", null, json.getBytes(StandardCharsets.UTF_8), null));
    return this;
  }

  public DeployBundle manifest(byte[] manifest) {
    parts.add(new Part("manifest", "manifest.json", manifest, null));
    return this;
  }

  public DeployBundle signature(byte[] signature) {
    parts.add(new Part("signature", "signature", signature, null));
    return this;
  }

  public DeployBundle certificate(byte[] certificateDer) {
    parts.add(new Part("certificate", "certificate.der", certificateDer, null));
    return this;
  }

  /** Adds a layer tar the gateway should store as {@code digest} (it checks the content). */
  public DeployBundle layer(Digest digest, Path tar) {
    Objects.requireNonNull(tar, "tar");
    parts.add(new Part("layer", digest.algorithm().aconName() + "-" + digest.hex(), null, tar));
    return this;
  }

  /** Writes the multipart body, streaming layer files. */
  public void writeTo(OutputStream out) throws IOException {
    for (Part p : parts) {
      StringBuilder h = new StringBuilder();
      h.append("--").append(boundary).append("\r\n")
          .append("Content-Disposition: form-data; name=\"").append(p.name()).append('"');
      if (p.fileName() != null || p.file() != null) {
        h.append("; filename=\"").append(p.fileName()).append('"').append("\r\n")
            .append("Content-Type: application/octet-stream");
      } else {
        h.append("\r\n").append("Content-Type: application/json; charset=utf-8");
      }
      h.append("\r\n\r\n");
      out.write(h.toString().getBytes(StandardCharsets.UTF_8));
      if (p.file() != null) {
        Files.copy(p.file(), out);
      } else {
        out.write(p.bytes());
      }
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    out.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
  }
}
