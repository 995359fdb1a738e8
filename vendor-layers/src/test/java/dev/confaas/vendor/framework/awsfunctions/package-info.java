/**
 * AWS Lambda Java functions as their authors write them for AWS (against {@code
 * aws-lambda-java-core} only), run unchanged by the {@code java-aws} runtime in the tests.
 */
package dev.confaas.vendor.framework.awsfunctions;
