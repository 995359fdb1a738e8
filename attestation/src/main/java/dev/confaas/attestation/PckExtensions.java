package dev.confaas.attestation;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;

/**
 * The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1; Intel "SGX PCK
 * Certificate and CRL Profile"): FMSPC and PCE ID select the TCB Info, the 16 SGX TCB component
 * SVNs and the PCESVN select its TCB level.
 */
record PckExtensions(
    byte[] fmspc, byte[] pceId, int[] sgxTcbComponents, int pceSvn, byte[] cpuSvn) {
  static final String SGX_EXTENSIONS_OID = "1.2.840.113741.1.13.1";

  static PckExtensions of(X509Certificate pck) {
    byte[] ext = pck.getExtensionValue(SGX_EXTENSIONS_OID);
    if (ext == null) {
      throw new IllegalArgumentException(
          "PCK certificate '"
              + pck.getSubjectX500Principal().getName()
              + "' has no SGX extensions (OID "
              + SGX_EXTENSIONS_OID
              + ")");
    }
    try {
      ASN1Sequence seq =
          ASN1Sequence.getInstance(
              ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets()));
      byte[] fmspc = null;
      byte[] pceId = null;
      int[] comps = null;
      int pceSvn = -1;
      byte[] cpuSvn = null;
      for (ASN1Encodable e : seq) {
        ASN1Sequence entry = ASN1Sequence.getInstance(e);
        String oid = ASN1ObjectIdentifier.getInstance(entry.getObjectAt(0)).getId();
        ASN1Encodable value = entry.getObjectAt(1);
        switch (oid.substring(SGX_EXTENSIONS_OID.length())) {
          case ".3" -> pceId = ASN1OctetString.getInstance(value).getOctets();
          case ".4" -> fmspc = ASN1OctetString.getInstance(value).getOctets();
          case ".2" -> {
            comps = new int[16];
            for (ASN1Encodable t : ASN1Sequence.getInstance(value)) {
              ASN1Sequence tcb = ASN1Sequence.getInstance(t);
              String toid = ASN1ObjectIdentifier.getInstance(tcb.getObjectAt(0)).getId();
              int idx = Integer.parseInt(toid.substring(toid.lastIndexOf('.') + 1));
              ASN1Encodable tv = tcb.getObjectAt(1);
              if (idx >= 1 && idx <= 16) {
                comps[idx - 1] = intValue(tv);
              } else if (idx == 17) {
                pceSvn = intValue(tv);
              } else if (idx == 18) {
                cpuSvn = ASN1OctetString.getInstance(tv).getOctets();
              }
            }
          }
          default -> {}
        }
      }
      if (fmspc == null || pceId == null || comps == null || pceSvn < 0) {
        throw new IllegalArgumentException(
            "PCK certificate SGX extensions lack FMSPC, PCE-ID or TCB (OID "
                + SGX_EXTENSIONS_OID
                + ".2/.3/.4)");
      }
      return new PckExtensions(fmspc, pceId, comps, pceSvn, cpuSvn);
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("PCK")) {
        throw iae;
      }
      throw new IllegalArgumentException("PCK certificate SGX extensions are malformed: " + e, e);
    }
  }

  private static int intValue(ASN1Encodable v) {
    BigInteger b =
        v instanceof ASN1Enumerated en ? en.getValue() : ASN1Integer.getInstance(v).getValue();
    return b.intValueExact();
  }
}
