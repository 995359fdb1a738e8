package dev.confaas.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/confaas} itself, in a copy of the repository's layout: a built CLI (so the script does
 * not build), a package check that notes each run instead of installing, and a {@code java} on the
 * PATH that records how it was called. {@code up --help} must not install Debian packages: only a
 * platform that really starts checks them ({@link UpCommandTest} holds that side).
 */
class ConfaasScriptTest {
  @TempDir Path root;
  Path checked;
  Path javaArgs;

  @BeforeEach
  void layout() throws Exception {
    Path script = Path.of(System.getProperty("user.dir")).resolveSibling("bin").resolve("confaas");
    Path bin = Files.createDirectories(root.resolve("bin"));
    Files.copy(script, bin.resolve("confaas"), StandardCopyOption.COPY_ATTRIBUTES);
    checked = root.resolve("packages-checked");
    executable(bin.resolve("ensure-debian-packages"), "#!/bin/sh\necho checked >> '" + checked
        + "'\n");
    Path target = Files.createDirectories(root.resolve("cli/target/lib"));
    Files.writeString(target.resolveSibling("confaas-cli.jar"), "");
    javaArgs = root.resolve("java-args");
    executable(Files.createDirectories(root.resolve("path")).resolve("java"),
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + javaArgs + "'\n"
            + "echo \"CONFAAS_ENSURE_PACKAGES=$CONFAAS_ENSURE_PACKAGES\" >> '" + javaArgs + "'\n");
  }

  private static void executable(Path file, String text) throws Exception {
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private List<String> run(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("bash", root.resolve("bin/confaas").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PATH", root.resolve("path") + ":" + System.getenv("PATH"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bin/confaas hung");
    assertEquals(0, p.exitValue(), out);
    return Files.readAllLines(javaArgs);
  }

  @Test
  void upHelpRunsTheCliWithoutCheckingPackagesAndTellsUpWhereTheCheckIs() throws Exception {
    List<String> java = run("up", "--help");
    assertTrue(java.containsAll(List.of("dev.confaas.cli.Main", "up", "--help")), java.toString());
    assertFalse(Files.exists(checked), "'bin/confaas up --help' ran the Debian package check");
    assertEquals("CONFAAS_ENSURE_PACKAGES=" + root.resolve("bin/ensure-debian-packages"),
        java.get(java.size() - 1), "up must be told where the package check is");
  }
}
