package dev.confaas.agent;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What the simulated TDX module measures into MRTD on the {@code process} backend: the agent's
 * artifacts, i.e. its class path in order — standing in for a TD's firmware, kernel and initrd.
 * MRTD = SHA-384 over the per-artifact digests, each the SHA-384 of a jar's bytes or, for a class
 * directory, of its files' relative paths and digests in sorted order. The agent computes it over
 * its own class path; the host computes the same reference value over the class path it launches
 * the agent with.
 */
public final class AgentArtifacts {
  private AgentArtifacts() {}

  /** The class path entries, in order, from a {@code java.class.path}-style string. */
  public static List<Path> parseClassPath(String classPath) {
    List<Path> out = new ArrayList<>();
    for (String e : classPath.split(File.pathSeparator)) {
      if (!e.isEmpty()) {
        out.add(Path.of(e).toAbsolutePath().normalize());
      }
    }
    return out;
  }

  /** One SHA-384 digest per artifact, in order: the inputs of the simulator's MRTD. */
  public static byte[][] digests(List<Path> classPath) {
    byte[][] out = new byte[classPath.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = digest(classPath.get(i));
    }
    return out;
  }

  private static byte[] digest(Path artifact) {
    try {
      if (Files.isDirectory(artifact)) {
        MessageDigest md = sha384();
        List<Path> files;
        try (Stream<Path> s = Files.walk(artifact)) {
          files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
          md.update(artifact.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
          md.update((byte) 0);
          md.update(fileDigest(f));
        }
        return md.digest();
      }
      if (!Files.isRegularFile(artifact)) {
        // A missing entry is measured as its name: it contributes no code, but changes MRTD.
        return sha384().digest(("missing:" + artifact).getBytes(StandardCharsets.UTF_8));
      }
      return fileDigest(artifact);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot measure agent artifact " + artifact, e);
    }
  }

  private static byte[] fileDigest(Path f) throws IOException {
    MessageDigest md = sha384();
    try (InputStream in = new DigestInputStream(Files.newInputStream(f), md)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return md.digest();
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
