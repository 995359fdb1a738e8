package dev.confaas.attestation;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The dev PKI behind {@link SimulatedTdxModule}: a locally generated root CA (subject {@value
 * #ROOT_SUBJECT}), a PCK CA, one PCK certificate carrying Intel's SGX extensions (FMSPC, PCE ID,
 * TCB component SVNs, PCESVN) and a TCB signing certificate, all P-256 — the same shapes as Intel's
 * PKI, so the same {@link QuoteVerifier} path verifies simulated quotes against {@link #collateral}
 * when told to trust {@link #rootCertificate()}, and refuses them otherwise.
 *
 * <p>{@link #save}/{@link #load} persist it to a directory so that a pool and its TDs share it. The
 * private keys are stored unencrypted (mode 600): this PKI protects nothing, it only exercises
 * code.
 */
public final class SimulatedPki {
  public static final String ROOT_SUBJECT =
      "CN=ConFaaS " + QuoteVerifier.SIMULATED_ROOT_MARKER + ",O=ConFaaS";
  static final String PCK_CA_SUBJECT = "CN=ConFaaS SIMULATED PCK Platform CA - NOT INTEL,O=ConFaaS";
  static final String PCK_SUBJECT = "CN=ConFaaS SIMULATED PCK Certificate - NOT INTEL,O=ConFaaS";
  static final String TCB_SIGNING_SUBJECT =
      "CN=ConFaaS SIMULATED TCB Signing - NOT INTEL,O=ConFaaS";

  /** The simulated platform's FMSPC, PCE ID and SVNs (chosen to look like a current SPR part). */
  static final byte[] FMSPC = HexFormat.of().parseHex("c0ffee000000");

  static final byte[] PCE_ID = {0, 0};
  static final int[] SGX_TCB_COMPONENTS = {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  static final int PCE_SVN = 13;

  /** TEE_TCB_SVN of the simulated TDX module: SVN 3 of module major version 1 (TDX_01). */
  static final byte[] TEE_TCB_SVN = HexFormat.of().parseHex("03010300000000000000000000000000");

  /** MRSIGNER of the simulated TD quoting enclave (SHA-256 of a label, not Intel's). */
  static final byte[] QE_MRSIGNER =
      QuoteVerifier.sha256("ConFaaS SIMULATED TD_QE signer".getBytes(StandardCharsets.US_ASCII));

  static final int QE_ISVPRODID = 2;
  static final int QE_ISVSVN = 8;

  private static final String[] NAMES = {"root", "pck-ca", "pck", "tcb-signing"};

  private final X509Certificate root;
  private final PrivateKey rootKey;
  private final X509Certificate pckCa;
  private final PrivateKey pckCaKey;
  private final X509Certificate pck;
  private final PrivateKey pckKey;
  private final X509Certificate tcbSigning;
  private final PrivateKey tcbSigningKey;

  private SimulatedPki(X509Certificate[] certs, PrivateKey[] keys) {
    this.root = certs[0];
    this.rootKey = keys[0];
    this.pckCa = certs[1];
    this.pckCaKey = keys[1];
    this.pck = certs[2];
    this.pckKey = keys[2];
    this.tcbSigning = certs[3];
    this.tcbSigningKey = keys[3];
  }

  /**
   * Generates a fresh PKI whose certificates are valid from a day before {@code now} for 10 years.
   */
  public static SimulatedPki generate(Instant now) {
    try {
      Instant from = now.minus(1, ChronoUnit.DAYS);
      Instant to = now.plus(3650, ChronoUnit.DAYS);
      KeyPair rootKp = newKey();
      KeyPair caKp = newKey();
      KeyPair pckKp = newKey();
      KeyPair tcbKp = newKey();
      X509Certificate root =
          cert(ROOT_SUBJECT, rootKp, ROOT_SUBJECT, rootKp.getPrivate(), from, to, true, null);
      X509Certificate ca =
          cert(PCK_CA_SUBJECT, caKp, ROOT_SUBJECT, rootKp.getPrivate(), from, to, true, null);
      X509Certificate pck =
          cert(
              PCK_SUBJECT,
              pckKp,
              PCK_CA_SUBJECT,
              caKp.getPrivate(),
              from,
              to,
              false,
              sgxExtensions());
      X509Certificate tcb =
          cert(
              TCB_SIGNING_SUBJECT, tcbKp, ROOT_SUBJECT, rootKp.getPrivate(), from, to, false, null);
      return new SimulatedPki(
          new X509Certificate[] {root, ca, pck, tcb},
          new PrivateKey[] {
            rootKp.getPrivate(), caKp.getPrivate(), pckKp.getPrivate(), tcbKp.getPrivate()
          });
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException(
          "cannot generate the simulated TDX PKI: " + e.getMessage(), e);
    }
  }

  /** Loads the PKI from {@code dir}, or generates and saves one there if it holds none. */
  public static SimulatedPki loadOrCreate(Path dir, Clock clock) {
    if (Files.exists(dir.resolve("root.pem"))) {
      return load(dir);
    }
    SimulatedPki pki = generate(clock.instant());
    pki.save(dir);
    return pki;
  }

  public static SimulatedPki load(Path dir) {
    X509Certificate[] certs = new X509Certificate[4];
    PrivateKey[] keys = new PrivateKey[4];
    for (int i = 0; i < 4; i++) {
      Path cert = dir.resolve(NAMES[i] + ".pem");
      Path key = dir.resolve(NAMES[i] + ".key");
      try {
        certs[i] =
            Pem.chain(Files.readString(cert, StandardCharsets.US_ASCII), cert.toString()).get(0);
        try (PEMParser p = new PEMParser(new StringReader(Files.readString(key)))) {
          Object o = p.readObject();
          keys[i] =
              new JcaPEMKeyConverter().getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) o);
        }
      } catch (IOException | ClassCastException e) {
        throw new IllegalArgumentException(
            "simulated TDX PKI in "
                + dir
                + " is incomplete or unreadable at "
                + NAMES[i]
                + " (delete the directory to regenerate it): "
                + e.getMessage(),
            e);
      }
    }
    return new SimulatedPki(certs, keys);
  }

  /** Writes certificates (PEM) and private keys (PKCS#8 PEM, mode 600 where supported). */
  public void save(Path dir) {
    X509Certificate[] certs = {root, pckCa, pck, tcbSigning};
    PrivateKey[] keys = {rootKey, pckCaKey, pckKey, tcbSigningKey};
    try {
      Files.createDirectories(dir);
      for (int i = 0; i < 4; i++) {
        Files.writeString(dir.resolve(NAMES[i] + ".pem"), Pem.encode(certs[i]));
        Path key = dir.resolve(NAMES[i] + ".key");
        Files.deleteIfExists(key);
        Files.createFile(key);
        try {
          Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
          // not a POSIX file system: leave the default permissions
        }
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
          pw.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(keys[i], null));
        }
        Files.writeString(key, w.toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the simulated TDX PKI to " + dir, e);
    }
  }

  /** The dev root; pass it to {@link QuoteVerifier#trusting} to accept simulated quotes. */
  public X509Certificate rootCertificate() {
    return root;
  }

  X509Certificate pckCertificate() {
    return pck;
  }

  /** PEM chain as a quote carries it: PCK, PCK CA, root. */
  byte[] pckChainPem() {
    return Pem.encode(List.of(pck, pckCa, root)).getBytes(StandardCharsets.US_ASCII);
  }

  /** Signs with the PCK key: ECDSA P-256/SHA-256, r||s. */
  byte[] signWithPck(byte[] data) {
    return signRaw(pckKey, data);
  }

  /**
   * Collateral for the simulated platform, issued at the clock's instant and valid for {@code
   * validity}: TCB Info and TD_QE identity signed over their exact bytes by the TCB signing key,
   * empty CRLs, the issuer chains and the dev root.
   */
  public Collateral collateral(Clock clock, Duration validity) {
    return collateral(clock, validity, false);
  }

  /**
   * As {@link #collateral(Clock, Duration)}; {@code revokePck} puts the PCK certificate on the PCK
   * CRL.
   */
  Collateral collateral(Clock clock, Duration validity, boolean revokePck) {
    Instant issue = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant next = issue.plus(validity);
    try {
      byte[] tcbInfo = signedBody("tcbInfo", tcbInfoJson(issue, next));
      byte[] qeIdentity = signedBody("enclaveIdentity", qeIdentityJson(issue, next));
      byte[] tcbChain = Pem.encode(List.of(tcbSigning, root)).getBytes(StandardCharsets.US_ASCII);
      byte[] pckCrlChain = Pem.encode(List.of(pckCa, root)).getBytes(StandardCharsets.US_ASCII);
      return Collateral.of(
          tcbInfo,
          qeIdentity,
          tcbChain,
          tcbChain,
          crl(pckCa, pckCaKey, issue, next, revokePck ? pck : null),
          pckCrlChain,
          crl(root, rootKey, issue, next, null),
          Pem.encode(root).getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot issue simulated collateral: " + e.getMessage(), e);
    }
  }

  private byte[] signedBody(String field, ObjectNode inner) throws IOException {
    byte[] innerBytes = SignedJson.MAPPER.writeValueAsBytes(inner);
    String sig = HexFormat.of().formatHex(signRaw(tcbSigningKey, innerBytes));
    // Built by hand so the signed bytes appear in the body exactly as signed.
    String body =
        "{\""
            + field
            + "\":"
            + new String(innerBytes, StandardCharsets.UTF_8)
            + ",\"signature\":\""
            + sig
            + "\"}";
    return body.getBytes(StandardCharsets.UTF_8);
  }

  private static ObjectNode tcbInfoJson(Instant issue, Instant next) {
    ObjectNode n = SignedJson.MAPPER.createObjectNode();
    HexFormat hex = HexFormat.of();
    n.put("id", "TDX").put("version", 3);
    n.put("issueDate", issue.toString()).put("nextUpdate", next.toString());
    n.put("fmspc", hex.formatHex(FMSPC)).put("pceId", hex.formatHex(PCE_ID));
    n.put("tcbType", 0).put("tcbEvaluationDataNumber", 1);
    ObjectNode module = n.putObject("tdxModule");
    module.put("mrsigner", hex.formatHex(new byte[48]));
    module.put("attributes", "0000000000000000").put("attributesMask", "FFFFFFFFFFFFFFFF");
    ObjectNode identity = n.putArray("tdxModuleIdentities").addObject();
    identity.put("id", String.format("TDX_%02X", TEE_TCB_SVN[1]));
    identity.put("mrsigner", hex.formatHex(new byte[48]));
    identity.put("attributes", "0000000000000000").put("attributesMask", "FFFFFFFFFFFFFFFF");
    ObjectNode ml = identity.putArray("tcbLevels").addObject();
    ml.putObject("tcb").put("isvsvn", TEE_TCB_SVN[0]);
    ml.put("tcbDate", issue.truncatedTo(ChronoUnit.DAYS).toString()).put("tcbStatus", "UpToDate");
    ArrayNode levels = n.putArray("tcbLevels");
    ObjectNode level = levels.addObject();
    ObjectNode tcb = level.putObject("tcb");
    ArrayNode sgx = tcb.putArray("sgxtcbcomponents");
    for (int svn : SGX_TCB_COMPONENTS) {
      sgx.addObject().put("svn", svn);
    }
    tcb.put("pcesvn", PCE_SVN);
    ArrayNode tdx = tcb.putArray("tdxtcbcomponents");
    for (byte svn : TEE_TCB_SVN) {
      tdx.addObject().put("svn", svn & 0xff);
    }
    level
        .put("tcbDate", issue.truncatedTo(ChronoUnit.DAYS).toString())
        .put("tcbStatus", "UpToDate");
    return n;
  }

  private static ObjectNode qeIdentityJson(Instant issue, Instant next) {
    ObjectNode n = SignedJson.MAPPER.createObjectNode();
    n.put("id", "TD_QE").put("version", 2);
    n.put("issueDate", issue.toString()).put("nextUpdate", next.toString());
    n.put("tcbEvaluationDataNumber", 1);
    n.put("miscselect", "00000000").put("miscselectMask", "FFFFFFFF");
    n.put("attributes", "11000000000000000000000000000000");
    n.put("attributesMask", "FBFFFFFFFFFFFFFF0000000000000000");
    n.put("mrsigner", HexFormat.of().formatHex(QE_MRSIGNER).toUpperCase());
    n.put("isvprodid", QE_ISVPRODID);
    ObjectNode level = n.putArray("tcbLevels").addObject();
    level.putObject("tcb").put("isvsvn", QE_ISVSVN);
    level
        .put("tcbDate", issue.truncatedTo(ChronoUnit.DAYS).toString())
        .put("tcbStatus", "UpToDate");
    return n;
  }

  private static byte[] crl(
      X509Certificate issuer, PrivateKey key, Instant issue, Instant next, X509Certificate revoked)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    X509v2CRLBuilder b =
        new X509v2CRLBuilder(
            X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), Date.from(issue));
    b.setNextUpdate(Date.from(next));
    if (revoked != null) {
      b.addCRLEntry(
          revoked.getSerialNumber(),
          Date.from(issue),
          org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
    }
    var holder = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key));
    return new JcaX509CRLConverter().getCRL(holder).getEncoded();
  }

  private static KeyPair newKey() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    return g.generateKeyPair();
  }

  static byte[] signRaw(PrivateKey key, byte[] data) {
    try {
      Signature s = Signature.getInstance("SHA256withPLAIN-ECDSA", QuoteVerifier.BC);
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("ECDSA P-256 signing failed", e);
    }
  }

  private static X509Certificate cert(
      String subject,
      KeyPair subjectKey,
      String issuer,
      PrivateKey issuerKey,
      Instant from,
      Instant to,
      boolean ca,
      ASN1Encodable sgx)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            new BigInteger(64, new SecureRandom()).setBit(63),
            Date.from(from),
            Date.from(to),
            new X500Name(subject),
            subjectKey.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
    if (sgx != null) {
      b.addExtension(new ASN1ObjectIdentifier(PckExtensions.SGX_EXTENSIONS_OID), false, sgx);
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
  }

  /** The SGX extension sequence of a PCK certificate (Intel SGX PCK Certificate Profile). */
  private static ASN1Encodable sgxExtensions() {
    String base = PckExtensions.SGX_EXTENSIONS_OID;
    ASN1Encodable[] tcb = new ASN1Encodable[18];
    byte[] cpuSvn = new byte[16];
    for (int i = 0; i < 16; i++) {
      tcb[i] = pair(base + ".2." + (i + 1), new ASN1Integer(SGX_TCB_COMPONENTS[i]));
      cpuSvn[i] = (byte) SGX_TCB_COMPONENTS[i];
    }
    tcb[16] = pair(base + ".2.17", new ASN1Integer(PCE_SVN));
    tcb[17] = pair(base + ".2.18", new DEROctetString(cpuSvn));
    byte[] ppid =
        QuoteVerifier.sha256("ConFaaS simulated PPID".getBytes(StandardCharsets.US_ASCII));
    return new DERSequence(
        new ASN1Encodable[] {
          pair(base + ".1", new DEROctetString(java.util.Arrays.copyOf(ppid, 16))),
          pair(base + ".2", new DERSequence(tcb)),
          pair(base + ".3", new DEROctetString(PCE_ID)),
          pair(base + ".4", new DEROctetString(FMSPC)),
          pair(base + ".5", new ASN1Enumerated(0))
        });
  }

  private static DERSequence pair(String oid, ASN1Encodable value) {
    return new DERSequence(new ASN1Encodable[] {new ASN1ObjectIdentifier(oid), value});
  }
}
