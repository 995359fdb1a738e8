/**
 * Handlers written only against AWS's {@code aws-lambda-java-core}, as for Lambda; the tests put
 * each class alone in a jar and deploy it with {@code confaas deploy --runtime java-aws}.
 */
package dev.confaas.cli.awsfunctions;
