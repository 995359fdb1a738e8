/**
 * The vendor framework layers ConFaaS ships, built reproducibly from the project's own sources and
 * the host's Debian packages: {@code confaas-shell} (busybox-static and a POSIX sh Runtime API
 * bootstrap) and {@code confaas-java17} (a jlinked JRE, the shared libraries it needs and the
 * {@code dev.confaas.lambda} runtime client). Front door: {@link
 * dev.confaas.vendor.framework.FrameworkLayers}; see {@code vendor-layers/frameworks/README.md}.
 */
package dev.confaas.vendor.framework;
