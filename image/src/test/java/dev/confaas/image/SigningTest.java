package dev.confaas.image;

import static dev.confaas.image.CanonicalJsonTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  static final byte[] MANIFEST_JSON =
      utf8(
          "{\n  \"aconSpecVersion\": [1, 0],\n  \"layers\": [\"sha384/"
              + "ab".repeat(48)
              + "\"],\n"
              + "  \"entrypoint\": [\"/bin/hello\", \"caf\u00e9\"],\n"
              + "  \"maxInstances\": 2.0\n"
              + "}\n");

  @TempDir static Path dir;

  @BeforeAll
  static void writeManifest() throws Exception {
    Files.write(dir.resolve("m.json"), MANIFEST_JSON);
  }

  static void assumeTools() {
    Assumptions.assumeTrue(Tools.onPath("openssl"), "openssl is not on PATH");
    Assumptions.assumeTrue(Tools.onPath("jq"), "jq is not on PATH");
  }

  static String sh(String script) throws Exception {
    return new String(
            Tools.run(List.of("sh", "-ec", "cd '" + dir + "' && " + script)),
            StandardCharsets.UTF_8)
        .trim();
  }

  @Test
  void opensslKeyCertAndSignatureVerifyInJavaWithIdenticalIds() throws Exception {
    assumeTools();
    sh(
        "openssl ecparam -name secp384r1 -genkey -out o.pem 2>/dev/null"
            + " && openssl req -x509 -sha384 -key o.pem -subj /CN=vendor -days 30 -outform der -out"
            + " o.cer && jq -jcS . m.json > m.canon"
            + " && openssl dgst -sha384 -sign o.pem -out o.sig m.canon");
    Manifest m = Manifest.parse(MANIFEST_JSON);
    byte[] cert = Files.readAllBytes(dir.resolve("o.cer"));
    SignedManifest sm = SignedManifest.of(m, Files.readAllBytes(dir.resolve("o.sig")), cert);
    sm.verify();

    String certHash = sh("openssl dgst -sha384 -r o.cer | cut -d' ' -f1");
    String manifestHash = sh("openssl dgst -sha384 -r m.canon | cut -d' ' -f1");
    assertEquals("sha384/" + certHash, sm.signerId().toString(), "signer ID = sha384(cert DER)");
    assertEquals("sha384/" + certHash + "/" + manifestHash, sm.imageId().toString());
    assertArrayEquals(Files.readAllBytes(dir.resolve("m.canon")), m.canonicalBytes());

    // The SEC1 key openssl wrote (with its EC PARAMETERS block) signs in Java for the same cert.
    ImageSigner signer =
        new ImageSigner(
            SigningKeys.readPrivateKeyPem(Files.readAllBytes(dir.resolve("o.pem"))), cert);
    assertEquals(sm.imageId(), signer.imageId(m));
    SignedManifest.of(m, signer.sign(m), cert).verify();
  }

  @Test
  void javaKeysAndSignaturesVerifyWithOpenssl() throws Exception {
    assumeTools();
    SigningKeys keys = SigningKeys.generate("fn-author", CLOCK);
    Files.writeString(dir.resolve("j.pem"), keys.privateKeyPem());
    Files.write(dir.resolve("j.cer"), keys.certificateDer());
    Manifest m = Manifest.parse(MANIFEST_JSON);
    Files.write(dir.resolve("j.sig"), keys.signer().sign(m));
    String out =
        sh(
            "jq -jcS . m.json > j.canon && openssl x509 -inform der -in j.cer -pubkey -noout >"
                + " j.pub && openssl dgst -sha384 -verify j.pub -signature j.sig j.canon");
    assertEquals("Verified OK", out);
    assertTrue(
        sh("openssl x509 -inform der -in j.cer -noout -text").contains("ecdsa-with-SHA384"),
        "generated certificate is signed with ecdsa-with-SHA384");
    // And openssl can sign with the PKCS#8 PEM we wrote.
    sh("openssl dgst -sha384 -sign j.pem -out j2.sig j.canon");
    SignedManifest.of(m, Files.readAllBytes(dir.resolve("j2.sig")), keys.certificateDer()).verify();
    assertEquals(
        "sha384/" + sh("openssl dgst -sha384 -r j.cer | cut -d' ' -f1"),
        keys.signerId().toString());
  }

  @Test
  void p256WithSha256CertificateUsesSha256Ids() throws Exception {
    assumeTools();
    sh(
        "openssl ecparam -name prime256v1 -genkey -noout -out p.pem"
            + " && openssl req -x509 -sha256 -key p.pem -subj /CN=p256 -outform der -out p.cer"
            + " && jq -jcS . m.json | openssl dgst -sha256 -sign p.pem -out p.sig");
    SignedManifest sm =
        SignedManifest.of(
            Manifest.parse(MANIFEST_JSON),
            Files.readAllBytes(dir.resolve("p.sig")),
            Files.readAllBytes(dir.resolve("p.cer")));
    sm.verify();
    assertEquals(HashAlgorithm.SHA256, sm.hashAlgorithm());
    assertEquals(
        "sha256/" + sh("openssl dgst -sha256 -r p.cer | cut -d' ' -f1"), sm.signerId().toString());
    assertEquals(
        sh("jq -jcS . m.json | openssl dgst -sha256 -r | cut -d' ' -f1"),
        sm.imageId().manifestHex());
  }

  @Test
  void ed25519SignsTheCanonicalManifestAndDeducesSha512() throws Exception {
    assumeTools();
    sh(
        "openssl genpkey -algorithm ed25519 -out e.pem"
            + " && openssl req -x509 -key e.pem -subj /CN=ed -outform der -out e.cer"
            + " && jq -jcS . m.json > e.canon"
            + " && openssl pkeyutl -sign -rawin -inkey e.pem -in e.canon -out e.sig");
    byte[] cert = Files.readAllBytes(dir.resolve("e.cer"));
    Manifest m = Manifest.parse(MANIFEST_JSON);
    SignedManifest sm = SignedManifest.of(m, Files.readAllBytes(dir.resolve("e.sig")), cert);
    sm.verify();
    assertEquals(HashAlgorithm.SHA512, sm.hashAlgorithm());
    assertEquals(
        "sha512/" + sh("openssl dgst -sha512 -r e.cer | cut -d' ' -f1"), sm.signerId().toString());
    ImageSigner signer =
        new ImageSigner(
            SigningKeys.readPrivateKeyPem(Files.readAllBytes(dir.resolve("e.pem"))), cert);
    SignedManifest.of(m, signer.sign(m), cert).verify();
  }

  @Test
  void caIssuedCertificateVerifies() throws Exception {
    assumeTools();
    // Not self-signed: the leaf's own signature is the CA's, which verify() does not judge.
    sh(
        "openssl ecparam -name secp384r1 -genkey -noout -out ca.pem"
            + " && openssl req -x509 -sha384 -key ca.pem -subj /CN=ca -out ca.cer"
            + " && openssl ecparam -name secp384r1 -genkey -noout -out leaf.pem"
            + " && openssl req -new -sha384 -key leaf.pem -subj /CN=leaf -out leaf.csr"
            + " && openssl x509 -req -sha384 -in leaf.csr -CA ca.cer -CAkey ca.pem -CAcreateserial"
            + " -outform der -out leaf.cer 2>/dev/null"
            + " && jq -jcS . m.json | openssl dgst -sha384 -sign leaf.pem -out leaf.sig");
    SignedManifest.of(
            Manifest.parse(MANIFEST_JSON),
            Files.readAllBytes(dir.resolve("leaf.sig")),
            Files.readAllBytes(dir.resolve("leaf.cer")))
        .verify();
  }

  @Test
  void sha1CertificateIsRejectedAsTooWeak() throws Exception {
    assumeTools();
    sh(
        "openssl ecparam -name secp384r1 -genkey -noout -out w.pem"
            + " && openssl req -x509 -sha1 -key w.pem -subj /CN=weak -outform der -out w.cer");
    ImageVerificationException e =
        assertThrows(
            ImageVerificationException.class,
            () ->
                SignedManifest.of(
                    Manifest.parse(MANIFEST_JSON),
                    new byte[0],
                    Files.readAllBytes(dir.resolve("w.cer"))));
    assertTrue(e.getMessage().contains("weaker than SHA-256"), e.getMessage());
  }

  @Test
  void unsupportedCurveIsNamed() throws Exception {
    assumeTools();
    sh(
        "openssl ecparam -name secp256k1 -genkey -noout -out k.pem"
            + " && openssl req -x509 -sha256 -key k.pem -subj /CN=k1 -outform der -out k.cer");
    ImageVerificationException e =
        assertThrows(
            ImageVerificationException.class,
            () ->
                SignedManifest.of(
                    Manifest.parse(MANIFEST_JSON),
                    new byte[0],
                    Files.readAllBytes(dir.resolve("k.cer"))));
    assertTrue(
        e.getMessage().contains("1.3.132.0.10") && e.getMessage().contains("not supported"),
        e.getMessage());
  }

  @Test
  void tamperingIsRejectedSayingWhatFailed() throws Exception {
    SigningKeys keys = SigningKeys.generate("author", CLOCK);
    Manifest m = Manifest.parse(MANIFEST_JSON);
    byte[] sig = keys.signer().sign(m);
    byte[] cert = keys.certificateDer();
    SignedManifest.of(m, sig, cert).verify();

    Manifest altered =
        Manifest.parse(utf8(new String(MANIFEST_JSON, StandardCharsets.UTF_8).replace("2.0", "3")));
    assertFails("signature does not verify", () -> SignedManifest.of(altered, sig, cert).verify());

    byte[] flipped = sig.clone();
    flipped[sig.length - 1] ^= 1;
    assertFails("signature does not verify", () -> SignedManifest.of(m, flipped, cert).verify());

    byte[] truncated = java.util.Arrays.copyOf(sig, sig.length - 3);
    assertFails("signature is malformed", () -> SignedManifest.of(m, truncated, cert).verify());
    byte[] trailing = java.util.Arrays.copyOf(sig, sig.length + 1);
    assertFails("signature is malformed", () -> SignedManifest.of(m, trailing, cert).verify());

    // Alter the certificate's subject (its key stays intact, so the manifest signature still
    // checks out with it): the self-signature exposes the change.
    byte[] certFlipped = cert.clone();
    int at = indexOf(certFlipped, "author".getBytes(StandardCharsets.US_ASCII));
    certFlipped[at] = 'A';
    assertFails(
        "certificate's self-signature does not verify",
        () -> SignedManifest.of(m, sig, certFlipped).verify());

    assertFails("certificate is not DER", () -> SignedManifest.of(m, sig, utf8("-----BEGIN")));
    assertFails(
        "certificate is malformed DER",
        () -> SignedManifest.of(m, sig, java.util.Arrays.copyOf(cert, cert.length - 10)));

    // Another key's signature over the same manifest.
    byte[] otherSig = SigningKeys.generate("other", CLOCK).signer().sign(m);
    assertFails("signature does not verify", () -> SignedManifest.of(m, otherSig, cert).verify());
  }

  @Test
  void signerRefusesAKeyThatIsNotTheCertificates() {
    SigningKeys a = SigningKeys.generate("a", CLOCK);
    SigningKeys b = SigningKeys.generate("b", CLOCK);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new ImageSigner(a.privateKey(), b.certificateDer()));
    assertTrue(e.getMessage().contains("does not belong to the certificate"), e.getMessage());
  }

  @Test
  void ed25519KeyCertifiedWithSha384IsAmbiguousAndRejected() throws Exception {
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(new ECGenParameterSpec("secp384r1"));
    KeyPair ca = ec.generateKeyPair();
    KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    byte[] cert =
        new JcaX509v3CertificateBuilder(
                new X500Name("CN=ca"),
                BigInteger.ONE,
                Date.from(CLOCK.instant()),
                Date.from(CLOCK.instant().plusSeconds(3600)),
                new X500Name("CN=ed"),
                ed.getPublic())
            .build(new JcaContentSignerBuilder("SHA384withECDSA").build(ca.getPrivate()))
            .getEncoded();
    assertFails(
        "mandates SHA-512",
        () -> SignedManifest.of(Manifest.parse(MANIFEST_JSON), new byte[64], cert));
  }

  @Test
  void keyPemRoundTripsAndBadPemIsExplained() {
    SigningKeys keys = SigningKeys.generate("author", CLOCK);
    byte[] pem = keys.privateKeyPem().getBytes(StandardCharsets.US_ASCII);
    assertArrayEquals(
        keys.privateKey().getEncoded(), SigningKeys.readPrivateKeyPem(pem).getEncoded());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SigningKeys.readPrivateKeyPem(utf8("hello")));
    assertTrue(e.getMessage().contains("no PEM block"), e.getMessage());
    String certPem =
        "-----BEGIN CERTIFICATE-----\n"
            + java.util.Base64.getMimeEncoder().encodeToString(keys.certificateDer())
            + "\n-----END CERTIFICATE-----\n";
    assertArrayEquals(keys.certificateDer(), SigningKeys.certificateDer(utf8(certPem)));
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }

  interface Failing {
    void run() throws Exception;
  }

  static void assertFails(String expected, Failing f) {
    ImageVerificationException e = assertThrows(ImageVerificationException.class, f::run);
    assertTrue(
        e.getMessage().contains(expected), "expected [" + expected + "] in: " + e.getMessage());
  }
}
