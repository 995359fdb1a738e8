package dev.confaas.attestation;

import java.util.List;

/**
 * What a trust domain's agent asks of its TDX module: a quote over 64 bytes of REPORTDATA, RTMR
 * extension and the current RTMR values. Implemented by {@link SimulatedTdxModule} (process and
 * qemu backends) and by the Linux guest interfaces on TDX hardware ({@link TdxGuests#detect}).
 */
public interface TdxGuest {

  /** A TDX quote (v4 layout on the simulator; whatever the platform's QE emits on hardware). */
  byte[] getQuote(byte[] reportData);

  /** Extends RTMR {@code index} with a 48-byte SHA-384 digest: RTMR = SHA-384(RTMR || digest). */
  void extendRtmr(int index, byte[] digest);

  /** RTMR0..3, 48 bytes each. */
  List<byte[]> rtmrs();
}
