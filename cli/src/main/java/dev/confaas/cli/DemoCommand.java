package dev.confaas.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code confaas demo}: builds, signs and verifies a sample image end to end in a scratch
 * directory, running the same commands a user would, and shows that a tampered copy is rejected.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Build, sign and verify a sample function image in a scratch directory.",
      "Then show that a tampered copy is rejected. Each step prints the 'confaas'",
      "command it runs."
    },
    footer = {"", "Examples:", "  confaas demo", "  confaas demo --dir /tmp/confaas-demo"})
final class DemoCommand implements Callable<Integer> {
  static final String HANDLER =
      "#!/bin/sh\n"
          + "# A tiny function: reads the event (JSON) on stdin and greets its \"name\".\n"
          + "name=$(sed -n 's/.*\"name\" *: *\"\\([^\"]*\\)\".*/\\1/p')\n"
          + "printf '{\"greeting\":\"hello, %s\"}\\n' \"${name:-world}\"\n";

  @Spec CommandSpec spec;

  @Option(
      names = "--dir",
      paramLabel = "DIR",
      description = "Work here instead of a new temporary directory.")
  Path dir;

  private PrintWriter out;
  private int step;

  @Override
  public Integer call() throws IOException {
    out = spec.commandLine().getOut();
    Path work = dir != null ? dir : Files.createTempDirectory("confaas-demo-");
    Files.createDirectories(work);
    out.println("ConFaaS demo in " + work);
    out.println();

    Path keys = work.resolve("keys");
    run(
        "Generate a signing key (ECDSA P-384) and a self-signed certificate",
        "keygen",
        "--out",
        keys.toString(),
        "--name",
        "author",
        "--force");

    Path fn = work.resolve("hello");
    Files.createDirectories(fn);
    Path handler = fn.resolve("handler.sh");
    Files.writeString(handler, HANDLER);
    try {
      Files.setPosixFilePermissions(handler, PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (UnsupportedOperationException ignored) {
      // non-POSIX file system: the layer records 0644 instead
    }
    out.println(++step + ". Write a tiny handler: " + handler);
    out.println();

    Path build = work.resolve("build");
    Path manifest = build.resolve(ImageCommand.MANIFEST_FILE);
    Path cert = keys.resolve("author.cert.der");
    Path sig = build.resolve("manifest.json.sig");
    run(
        "Build the image: a reproducible layer of ./hello under /fn, and its ACON manifest",
        "image",
        "build",
        "--dir",
        fn.toString(),
        "--layer-prefix",
        "fn",
        "--working-dir",
        "/fn",
        "--entrypoint",
        "/fn/handler.sh",
        "--self-alias",
        "hello:1",
        "--max-instances",
        "4",
        "--out",
        build.toString());
    run(
        "Sign the canonical manifest (as jq -jcS . prints it)",
        "image",
        "sign",
        manifest.toString(),
        "--key",
        keys.resolve("author.key.pem").toString(),
        "--cert",
        cert.toString(),
        "--out",
        sig.toString());
    run(
        "Its image ID: sha384/<SHA-384 of the certificate>/<SHA-384 of the canonical manifest>",
        "image",
        "id",
        manifest.toString(),
        "--cert",
        cert.toString());
    run(
        "Verify the signature",
        "image",
        "verify",
        manifest.toString(),
        "--signature",
        sig.toString(),
        "--cert",
        cert.toString());

    Path tampered = build.resolve("tampered.json");
    String text = Files.readString(manifest, StandardCharsets.UTF_8);
    String altered = text.replace("\"maxInstances\": 4", "\"maxInstances\": 400");
    if (altered.equals(text)) {
      throw new Main.CliException("demo could not find maxInstances in " + manifest);
    }
    Files.writeString(tampered, altered, StandardCharsets.UTF_8);
    out.println(
        ++step
            + ". Tamper with a copy (maxInstances 4 -> 400) and verify it with the same signature");
    String[] args = {
      "image",
      "verify",
      tampered.toString(),
      "--signature",
      sig.toString(),
      "--cert",
      cert.toString()
    };
    out.println("   $ confaas " + String.join(" ", args));
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int code = Main.run(new PrintWriter(o), new PrintWriter(e), args);
    if (code == 0) {
      indent(o.toString());
      throw new Main.CliException(
          "the tampered manifest verified; this is a bug, please report it");
    }
    indent(e.toString());
    out.println("   -> rejected (exit " + code + "), as it must be.");
    out.println();
    out.println("Check it independently with jq and openssl:");
    out.println(
        "  jq -jcS . "
            + manifest
            + " | openssl dgst -sha384 -verify <(openssl x509 -inform der -in "
            + cert
            + " -pubkey -noout) -signature "
            + sig);
    out.println("Done. Files are in " + work);
    return 0;
  }

  /**
   * Runs one confaas command in-process, printing it and its output; stops the demo if it fails.
   */
  private void run(String title, String... args) {
    out.println(++step + ". " + title);
    out.println("   $ confaas " + String.join(" ", args));
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int code = Main.run(new PrintWriter(o), new PrintWriter(e), args);
    indent(o.toString());
    if (code != 0) {
      indent(e.toString());
      throw new Main.CliException(
          "step " + step + " failed (exit " + code + "): " + e.toString().trim());
    }
    out.println();
  }

  private void indent(String text) {
    for (String line : text.split("\n")) {
      if (!line.isBlank()) {
        out.println("   " + line);
      }
    }
  }
}
