/**
 * Placement of function instances onto TDs under launch policy and capacity, instance lifecycle,
 * per-function concurrency, queueing with deadlines, and scaling.
 */
package dev.confaas.scheduler;
