package dev.confaas.attestation;

/**
 * A quote (or a structure inside it) is truncated or inconsistent. The message names the byte
 * offset and the field, so a caller can tell a corrupted transfer from a quote in an unsupported
 * format.
 */
final class QuoteFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int offset;
  private final String field;

  public QuoteFormatException(int offset, String field, String problem) {
    super("TDX quote: " + field + " at offset " + offset + ": " + problem);
    this.offset = offset;
    this.field = field;
  }

  /** Byte offset in the quote where the problem was found. */
  public int offset() {
    return offset;
  }

  /** Name of the field that could not be read (as in the Intel TDX DCAP quote layout). */
  public String field() {
    return field;
  }
}
