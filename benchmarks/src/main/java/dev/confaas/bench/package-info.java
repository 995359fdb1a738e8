/**
 * JMH micro-benchmarks of the hot paths (quote verification, launch-policy admission, image IDs,
 * RTMR replay, scheduler placement and fair queueing), each against its baseline in the same
 * class, through the measured modules' public API. The end-to-end
 * harness is in {@link dev.confaas.bench.e2e}; the latest figures are in {@code
 * benchmarks/README.md}.
 */
package dev.confaas.bench;
