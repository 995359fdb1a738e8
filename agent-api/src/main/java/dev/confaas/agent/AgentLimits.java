package dev.confaas.agent;

/**
 * Message sizes of agent.proto that both ends must configure alike: a server or channel left at
 * gRPC's 4 MiB default refuses a legal 6 MiB Invoke with RESOURCE_EXHAUSTED.
 */
public final class AgentLimits {
  /** Largest payload an Invoke may carry (and a function may answer with), Lambda's synchronous limit. */
  public static final int MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

  /**
   * Inbound message limit servers and channels must allow ({@code maxInboundMessageSize}): the
   * payload plus the message's other fields.
   */
  public static final int MAX_MESSAGE_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

  /** Largest data field of one AddBlob chunk. */
  public static final int MAX_CHUNK_BYTES = 1024 * 1024;

  private AgentLimits() {}
}
