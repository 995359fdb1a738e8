/**
 * The Vert.x HTTP API (invoke, async invoke, manage), Kafka triggers, auth and metrics, and the server
 * main that wires the platform together ({@code confaas up}).
 */
package dev.confaas.gateway;
