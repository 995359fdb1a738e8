/**
 * The {@code confaas} command line: keys, building, importing, signing and inspecting images, vendor
 * layers, attestation checks, and (later) deploy, invoke and {@code up}.
 */
package dev.confaas.cli;
