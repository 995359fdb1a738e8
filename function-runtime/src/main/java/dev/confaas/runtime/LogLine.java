package dev.confaas.runtime;

/**
 * One line a function wrote to a descriptor its manifest declared shareable ({@code logFDs}).
 *
 * @param instanceId instance that wrote it
 * @param imageId its image
 * @param fd 1 (stdout) or 2 (stderr)
 * @param line the bytes without the newline; lines over 16 KiB are split
 * @param timeEpochMs when the agent read it (agent clock)
 * @param sequence agent-wide, increasing by one per line
 */
record LogLine(String instanceId, String imageId, int fd, byte[] line, long timeEpochMs, long sequence) {}
