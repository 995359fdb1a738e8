package dev.confaas.attestation.measure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthenticodeTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void hashesTheRangesThePeSpecNames() throws Exception {
    byte[] f = TestImages.efiStubKernel();
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.write(f, 0, TestImages.CHECKSUM);
    m.write(f, TestImages.CHECKSUM + 4, TestImages.CERT_DIRECTORY - TestImages.CHECKSUM - 4);
    m.write(f, TestImages.CERT_DIRECTORY + 8, 0x200 - TestImages.CERT_DIRECTORY - 8);
    m.write(f, 0x200, 0x200); // .data comes first in the file
    m.write(f, 0x400, 0x200); // .text
    m.write(f, 0x600, 0x100); // after the sections
    byte[] expected = MessageDigest.getInstance("SHA-384").digest(m.toByteArray());
    assertArrayEquals(expected, Authenticode.sha384(f));

    byte[] otherChecksum = f.clone();
    otherChecksum[TestImages.CHECKSUM] ^= 0x55;
    assertArrayEquals(expected, Authenticode.sha384(otherChecksum));
  }

  /**
   * osslsigncode (Debian package) signs with SHA-384 and puts the Authenticode digest it computed
   * in the signature; the unsigned file and the signed one (certificate table appended, checksum
   * rewritten) must both hash to it.
   */
  @Test
  void agreesWithOsslsigncode(@TempDir Path dir) throws Exception {
    Path osslsigncode = TestImages.debianTool("osslsigncode", "osslsigncode");
    Path openssl = TestImages.debianTool("openssl", "openssl");
    byte[] f = TestImages.efiStubKernel();
    Files.write(dir.resolve("a.efi"), f);
    TestImages.run(
        dir,
        openssl.toString(),
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=confaas test",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2");
    TestImages.run(
        dir,
        osslsigncode.toString(),
        "sign",
        "-certs",
        "cert.pem",
        "-key",
        "key.pem",
        "-h",
        "sha384",
        "-in",
        "a.efi",
        "-out",
        "signed.efi");
    Process verify =
        new ProcessBuilder(osslsigncode.toString(), "verify", "-in", "signed.efi")
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(verify.getInputStream().readAllBytes());
    verify.waitFor(); // fails: the certificate is self-signed; the digests are printed anyway
    Matcher digest =
        Pattern.compile("Current message digest\\s*:\\s*([0-9A-Fa-f]{96})").matcher(out);
    assertTrue(digest.find(), "no message digest in osslsigncode's output:\n" + out);
    String theirs = digest.group(1).toLowerCase(Locale.ROOT);

    assertEquals(theirs, HEX.formatHex(Authenticode.sha384(f)));
    byte[] signed = Files.readAllBytes(dir.resolve("signed.efi"));
    assertTrue(signed.length > f.length, "osslsigncode appended no certificate table");
    assertEquals(theirs, HEX.formatHex(Authenticode.sha384(signed)));
  }

  @Test
  void refusesWhatIsNotAPeImage() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Authenticode.sha384(new byte[0x400]));
    assertTrue(e.getMessage().contains("EFI_STUB"), e.getMessage());
    byte[] truncated = java.util.Arrays.copyOf(TestImages.efiStubKernel(), 0x500);
    e = assertThrows(IllegalArgumentException.class, () -> Authenticode.sha384(truncated));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }
}
