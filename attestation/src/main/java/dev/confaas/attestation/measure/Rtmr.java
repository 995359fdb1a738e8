package dev.confaas.attestation.measure;

import java.security.MessageDigest;
import java.util.List;

/**
 * An RTMR as replayed from the events extended into it: starting from 48 zero bytes, RTMR =
 * SHA-384(RTMR ‖ digest) for each event in order ({@code TDG.MR.RTMR.EXTEND}).
 */
public record Rtmr(int index, List<Event> events) {
  public static final int SIZE = 48;

  /** One event-log entry: the digest extended and what it is a digest of. */
  public record Event(String description, byte[] digest) {
    public Event {
      if (digest.length != SIZE) {
        throw new IllegalArgumentException("an RTMR event digest is 48 bytes (SHA-384)");
      }
      digest = digest.clone();
    }

    @Override
    public byte[] digest() {
      return digest.clone();
    }
  }

  public Rtmr {
    events = List.copyOf(events);
  }

  /** The register's value after all events. */
  public byte[] value() {
    byte[] r = new byte[SIZE];
    for (Event e : events) {
      MessageDigest h = Digests.sha384();
      h.update(r);
      h.update(e.digest);
      r = h.digest();
    }
    return r;
  }
}
