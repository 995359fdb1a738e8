/**
 * The end-to-end load harness ({@link dev.confaas.bench.e2e.LoadHarness}): open- and closed-loop
 * load with HdrHistogram latencies against a {@code Platform} started in-process on loopback, each
 * scenario next to its baseline measured in the same run. {@code benchmarks/run-all} runs it after
 * the JMH set and writes {@code benchmarks/results/<date>.json}.
 */
package dev.confaas.bench.e2e;
