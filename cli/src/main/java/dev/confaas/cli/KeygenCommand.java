package dev.confaas.cli;

import dev.confaas.image.SigningKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code confaas keygen}: a new ECDSA P-384 signing key (PKCS#8 PEM, mode 0600) and a self-signed
 * SHA384withECDSA certificate (DER), as ACON recommends; prints the signer ID.
 */
@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    description = {
      "Generate an ECDSA P-384 signing key and a self-signed certificate (DER).",
      "Writes NAME.key.pem (keep it secret) and NAME.cert.der, and prints the signer",
      "ID sha384/<hex of SHA-384(certificate DER)> that vendor aliases and policies",
      "refer to."
    },
    footer = {
      "",
      "Examples:",
      "  confaas keygen --out keys",
      "  confaas keygen --out keys --name vendor --json"
    })
final class KeygenCommand implements Callable<Integer> {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  @Spec CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Directory to write the key and certificate to.")
  Path out;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      defaultValue = "signer",
      description = "File name stem and certificate CN (default: ${DEFAULT-VALUE}).")
  String name;

  @Option(names = "--force", description = "Overwrite existing files.")
  boolean force;

  @Option(names = "--json", description = "Print {\"signerId\",\"key\",\"certificate\"} as JSON.")
  boolean json;

  Clock clock = Clock.systemUTC();

  @Override
  public Integer call() {
    if (!NAME.matcher(name).matches()) {
      throw new Main.CliException("--name \"" + name + "\" must match [A-Za-z0-9][A-Za-z0-9._-]*");
    }
    Path key = out.resolve(name + ".key.pem");
    Path cert = out.resolve(name + ".cert.der");
    for (Path p : new Path[] {key, cert}) {
      if (!force && Files.exists(p)) {
        throw new Main.CliException(
            p + " already exists; use --force to replace it or choose another --name");
      }
    }
    SigningKeys keys = SigningKeys.generate(name, clock);
    CliFiles.mkdirs(out);
    writeKey(key, keys.privateKeyPem().getBytes(StandardCharsets.US_ASCII));
    CliFiles.write(cert, keys.certificateDer(), "certificate");
    PrintWriter w = spec.commandLine().getOut();
    String signer = keys.signerId().toString();
    if (json) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("signerId", signer);
      o.put("key", key.toString());
      o.put("certificate", cert.toString());
      w.println(CliJson.write(o));
    } else {
      w.println("signer ID:   " + signer);
      w.println("private key: " + key + "  (keep it secret)");
      w.println("certificate: " + cert);
    }
    return 0;
  }

  /** The key file is created with mode 0600 from the start, never readable by others. */
  private static void writeKey(Path key, byte[] pem) {
    try {
      Files.deleteIfExists(key);
      try {
        Files.createFile(
            key,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException noPosix) {
        Files.createFile(key);
      }
      Files.write(key, pem);
    } catch (IOException e) {
      throw new Main.CliException("cannot write private key " + key + ": " + e.getMessage(), e);
    }
  }
}
