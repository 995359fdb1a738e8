/**
 * The ConFaaS Java function runtime: a client of the AWS Lambda Runtime API (version 2018-06-01,
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) and the handler interface a Java
 * function implements. It ships in the vendor Java framework layer as
 * {@code /opt/confaas/java-runtime.jar} and depends on nothing but {@code java.base}.
 *
 * <p>A function implements {@link dev.confaas.lambda.Handler} (bytes in, bytes out) or {@link
 * dev.confaas.lambda.StringHandler} (UTF-8 text), with a public no-argument constructor, and names
 * the class in {@code _HANDLER}. {@link dev.confaas.lambda.Bootstrap} is the process entry point: it
 * loads the class from {@code LAMBDA_TASK_ROOT} (classes and jars there), then loops on the Runtime
 * API, posting each result, or an error whose {@code errorType} is the exception's class name.
 */
package dev.confaas.lambda;
