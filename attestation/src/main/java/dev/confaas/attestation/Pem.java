package dev.confaas.attestation;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** PEM certificate chains and DER CRLs, read strictly. */
final class Pem {
  private Pem() {}

  private static CertificateFactory factory() {
    try {
      return CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
    }
  }

  /**
   * Reads a PEM chain and insists that it is exactly the canonical encoding of the certificates it
   * yields (64-character lines, LF, optional trailing NUL bytes as quote generators append). A
   * lenient reader would skip stray characters and ignore the unused bits of the last base64
   * character, so bytes of the quote could change without changing what is verified.
   */
  static List<X509Certificate> strictChain(byte[] pem, String what) {
    int end = pem.length;
    while (end > 0 && pem[end - 1] == 0) {
      end--;
    }
    String text = new String(pem, 0, end, StandardCharsets.US_ASCII);
    List<X509Certificate> certs = chain(text, what);
    StringBuilder canonical = new StringBuilder();
    for (X509Certificate c : certs) {
      canonical.append(encode(c));
    }
    if (!canonical.toString().equals(text)) {
      throw new IllegalArgumentException(
          what + " is not in canonical PEM form (64-character base64 lines, LF line ends)");
    }
    return certs;
  }

  static List<X509Certificate> chain(String pemText, String what) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c :
          factory()
              .generateCertificates(
                  new ByteArrayInputStream(pemText.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException(what + " holds no PEM certificate");
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          what + " is not a valid PEM certificate chain: " + e.getMessage(), e);
    }
  }

  static X509CRL crl(byte[] der, String what) {
    try {
      return (X509CRL) factory().generateCRL(new ByteArrayInputStream(der));
    } catch (CRLException e) {
      throw new IllegalArgumentException(what + " is not a valid CRL: " + e.getMessage(), e);
    }
  }

  static String encode(X509Certificate c) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String encode(List<X509Certificate> chain) {
    StringBuilder sb = new StringBuilder();
    chain.forEach(c -> sb.append(encode(c)));
    return sb.toString();
  }
}
