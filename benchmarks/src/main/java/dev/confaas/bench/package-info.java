/**
 * JMH micro-benchmarks of the hot paths and the end-to-end load harness, each measured against its
 * baseline in the same run; results are written to {@code benchmarks/README.md}.
 */
package dev.confaas.bench;
