package dev.confaas.attestation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The Intel DCAP collateral one quote is verified with, parsed once so that many quotes can be
 * verified against it: TCB Info and QE Identity (PCS response bodies with their signatures), their
 * issuer chains, the PCK CRL (and its issuer chain if known), the Root CA CRL, and optionally the
 * root the collateral was issued under.
 *
 * <p>On disk, a directory with the files {@code tcb_info.json}, {@code qe_identity.json}, {@code
 * tcb_info_issuer_chain.pem}, {@code qe_identity_issuer_chain.pem}, {@code pck_crl.der}, {@code
 * pck_crl_issuer_chain.pem} (optional: without it the PCK CRL is checked against the PCK CA
 * certificate carried in the quote), {@code root_ca_crl.der} and {@code trusted_root.pem}
 * (optional; it never adds trust, the verifier's pinned root decides, but a mismatch is reported
 * early).
 */
public final class Collateral {
  public static final String TCB_INFO = "tcb_info.json";
  public static final String QE_IDENTITY = "qe_identity.json";
  public static final String TCB_INFO_ISSUER_CHAIN = "tcb_info_issuer_chain.pem";
  public static final String QE_IDENTITY_ISSUER_CHAIN = "qe_identity_issuer_chain.pem";
  public static final String PCK_CRL = "pck_crl.der";
  public static final String PCK_CRL_ISSUER_CHAIN = "pck_crl_issuer_chain.pem";
  public static final String ROOT_CA_CRL = "root_ca_crl.der";
  public static final String TRUSTED_ROOT = "trusted_root.pem";

  final byte[] tcbInfoBody;
  final byte[] qeIdentityBody;
  final byte[] tcbInfoIssuerChainPem;
  final byte[] qeIdentityIssuerChainPem;
  final byte[] pckCrlDer;
  final byte[] pckCrlIssuerChainPem;
  final byte[] rootCaCrlDer;
  final byte[] trustedRootPem;

  final SignedJson tcbInfoSigned;
  final TcbInfo tcbInfo;
  final SignedJson qeIdentitySigned;
  final QeIdentity qeIdentity;
  final List<X509Certificate> tcbInfoIssuerChain;
  final List<X509Certificate> qeIdentityIssuerChain;
  final X509CRL pckCrl;
  final List<X509Certificate> pckCrlIssuerChain;
  final X509CRL rootCaCrl;
  final X509Certificate trustedRoot;

  /**
   * Roots (and PCK CAs) this collateral's signatures were already checked against: collateral is
   * immutable, so a verifier need not repeat those ECDSA checks for every quote it verifies with
   * it.
   */
  final Set<X509Certificate> signaturesVerifiedUnder = ConcurrentHashMap.newKeySet();

  final Set<X509Certificate> pckCrlVerifiedWith = ConcurrentHashMap.newKeySet();

  private Collateral(
      byte[] tcbInfoBody,
      byte[] qeIdentityBody,
      byte[] tcbInfoIssuerChainPem,
      byte[] qeIdentityIssuerChainPem,
      byte[] pckCrlDer,
      byte[] pckCrlIssuerChainPem,
      byte[] rootCaCrlDer,
      byte[] trustedRootPem) {
    this.tcbInfoBody = tcbInfoBody;
    this.qeIdentityBody = qeIdentityBody;
    this.tcbInfoIssuerChainPem = tcbInfoIssuerChainPem;
    this.qeIdentityIssuerChainPem = qeIdentityIssuerChainPem;
    this.pckCrlDer = pckCrlDer;
    this.pckCrlIssuerChainPem = pckCrlIssuerChainPem;
    this.rootCaCrlDer = rootCaCrlDer;
    this.trustedRootPem = trustedRootPem;
    this.tcbInfoSigned = SignedJson.parse(tcbInfoBody, "tcbInfo", TCB_INFO);
    this.tcbInfo = TcbInfo.of(tcbInfoSigned.value());
    this.qeIdentitySigned = SignedJson.parse(qeIdentityBody, "enclaveIdentity", QE_IDENTITY);
    this.qeIdentity = QeIdentity.of(qeIdentitySigned.value());
    this.tcbInfoIssuerChain = Pem.chain(ascii(tcbInfoIssuerChainPem), TCB_INFO_ISSUER_CHAIN);
    this.qeIdentityIssuerChain =
        Pem.chain(ascii(qeIdentityIssuerChainPem), QE_IDENTITY_ISSUER_CHAIN);
    this.pckCrl = Pem.crl(pckCrlDer, PCK_CRL);
    this.pckCrlIssuerChain =
        pckCrlIssuerChainPem == null
            ? null
            : Pem.chain(ascii(pckCrlIssuerChainPem), PCK_CRL_ISSUER_CHAIN);
    this.rootCaCrl = Pem.crl(rootCaCrlDer, ROOT_CA_CRL);
    this.trustedRoot =
        trustedRootPem == null ? null : Pem.chain(ascii(trustedRootPem), TRUSTED_ROOT).get(0);
  }

  private static String ascii(byte[] b) {
    return new String(b, StandardCharsets.US_ASCII);
  }

  /**
   * Parses collateral from its parts (as PCS serves them). {@code pckCrlIssuerChainPem} and {@code
   * trustedRootPem} may be null. Throws {@link IllegalArgumentException} naming the malformed part.
   */
  public static Collateral of(
      byte[] tcbInfoJson,
      byte[] qeIdentityJson,
      byte[] tcbInfoIssuerChainPem,
      byte[] qeIdentityIssuerChainPem,
      byte[] pckCrlDer,
      byte[] pckCrlIssuerChainPem,
      byte[] rootCaCrlDer,
      byte[] trustedRootPem) {
    return new Collateral(
        tcbInfoJson,
        qeIdentityJson,
        tcbInfoIssuerChainPem,
        qeIdentityIssuerChainPem,
        pckCrlDer,
        pckCrlIssuerChainPem,
        rootCaCrlDer,
        trustedRootPem);
  }

  /** Loads collateral from a directory laid out as described above. */
  public static Collateral load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("collateral directory " + dir + " does not exist");
    }
    try {
      return new Collateral(
          read(dir, TCB_INFO),
          read(dir, QE_IDENTITY),
          read(dir, TCB_INFO_ISSUER_CHAIN),
          read(dir, QE_IDENTITY_ISSUER_CHAIN),
          read(dir, PCK_CRL),
          readOptional(dir, PCK_CRL_ISSUER_CHAIN),
          read(dir, ROOT_CA_CRL),
          readOptional(dir, TRUSTED_ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("collateral in " + dir + ": " + e.getMessage(), e);
    }
  }

  private static byte[] read(Path dir, String name) {
    try {
      return Files.readAllBytes(dir.resolve(name));
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(
          "missing "
              + name
              + " (expected files: "
              + TCB_INFO
              + ", "
              + QE_IDENTITY
              + ", "
              + TCB_INFO_ISSUER_CHAIN
              + ", "
              + QE_IDENTITY_ISSUER_CHAIN
              + ", "
              + PCK_CRL
              + ", "
              + ROOT_CA_CRL
              + ")");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dir.resolve(name), e);
    }
  }

  private static byte[] readOptional(Path dir, String name) {
    return Files.exists(dir.resolve(name)) ? read(dir, name) : null;
  }

  /** Writes the collateral into {@code dir} in the layout {@link #load} reads. */
  public void writeTo(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.write(dir.resolve(TCB_INFO), tcbInfoBody);
      Files.write(dir.resolve(QE_IDENTITY), qeIdentityBody);
      Files.write(dir.resolve(TCB_INFO_ISSUER_CHAIN), tcbInfoIssuerChainPem);
      Files.write(dir.resolve(QE_IDENTITY_ISSUER_CHAIN), qeIdentityIssuerChainPem);
      Files.write(dir.resolve(PCK_CRL), pckCrlDer);
      if (pckCrlIssuerChainPem != null) {
        Files.write(dir.resolve(PCK_CRL_ISSUER_CHAIN), pckCrlIssuerChainPem);
      }
      Files.write(dir.resolve(ROOT_CA_CRL), rootCaCrlDer);
      if (trustedRootPem != null) {
        Files.write(dir.resolve(TRUSTED_ROOT), trustedRootPem);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write collateral to " + dir, e);
    }
  }

  /** FMSPC (hex) of the platform family this TCB Info describes. */
  public String fmspc() {
    return CollateralHex.of(tcbInfo.fmspc());
  }

  /** The earliest {@code nextUpdate} of TCB Info, QE Identity and the CRLs: refetch before then. */
  public Instant nextUpdate() {
    return Stream.of(
            tcbInfo.nextUpdate(),
            qeIdentity.nextUpdate(),
            pckCrl.getNextUpdate().toInstant(),
            rootCaCrl.getNextUpdate().toInstant())
        .min(Instant::compareTo)
        .orElseThrow();
  }

  /** The root this collateral says it was issued under, if it carries one. */
  public Optional<X509Certificate> trustedRoot() {
    return Optional.ofNullable(trustedRoot);
  }

  byte[] tcbInfoBody() {
    return tcbInfoBody;
  }

  byte[] qeIdentityBody() {
    return qeIdentityBody;
  }
}
