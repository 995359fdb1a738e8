package dev.confaas.gateway;

import dev.confaas.scheduler.InvocationResult;

/**
 * Where the TD's receipt for an invocation (docs/receipts.md) travels from the gateway: passed on
 * unchanged, never re-signed or altered, so a caller verifies it against the TD's evidence without
 * trusting the host.
 */
public final class Receipts {
  /** The HTTP response header of a synchronous invocation (success and function error alike). */
  public static final String HEADER = "ConFaaS-Receipt";
  /** The header of a Kafka trigger's reply record. */
  public static final String KAFKA_HEADER = "confaas-receipt";

  private Receipts() {}

  /** The result's receipt, or {@code null} when the TD gave none (the async status omits it then). */
  public static String of(InvocationResult r) {
    return r != null && r.hasReceipt() ? r.receipt() : null;
  }
}
