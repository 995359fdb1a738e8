/**
 * The vendor framework layers ConFaaS ships, built reproducibly from the project's own sources, the
 * host's Debian packages and pinned Maven Central jars: {@code confaas-shell} (busybox-static and a
 * POSIX sh Runtime API bootstrap), {@code confaas-java17} (a jlinked Java SE JRE, the shared
 * libraries it and JNI libraries need, the {@code dev.confaas.lambda} runtime client for {@code
 * java} and AWS's Lambda Java runtime interface client for {@code java-aws}) and {@code
 * confaas-provided} (bash, curl and busybox for custom runtimes, as AWS's provided.al2023). Front
 * door: {@link dev.confaas.vendor.framework.FrameworkLayers}; see {@code
 * vendor-layers/frameworks/README.md}.
 */
package dev.confaas.vendor.framework;
