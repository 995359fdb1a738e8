/**
 * ACON launch policy: {@code accepts} rules ({@code HASH/SIGNER/MANIFEST}), transitive acceptance,
 * {@code rejectUnaccepted}, and the question the scheduler and the TD agent ask: may this image join a TD
 * that already holds these images, and if not, which rule stopped it.
 */
package dev.confaas.policy;
