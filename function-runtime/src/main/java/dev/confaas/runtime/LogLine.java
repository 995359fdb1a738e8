package dev.confaas.runtime;

/**
 * One line a function wrote to a descriptor its manifest declared shareable ({@code logFDs}).
 *
 * @param instanceId instance that wrote it
 * @param imageId its image
 * @param function the deployment's name the instance serves ({@link InstanceSettings#name()})
 * @param version that deployment's version
 * @param requestId the request the instance was last handed; empty before its first (init output)
 * @param fd 1 (stdout) or 2 (stderr)
 * @param line the bytes without the newline; lines over 16 KiB are split
 * @param timeEpochMs when the agent read it (agent clock)
 * @param sequence agent-wide, increasing by one per line
 */
record LogLine(
    String instanceId,
    String imageId,
    String function,
    String version,
    String requestId,
    int fd,
    byte[] line,
    long timeEpochMs,
    long sequence) {}
