/**
 * The agent that runs inside each TD (ACON's acond role): its gRPC service, image loading with signature,
 * policy and measurement into RTMR3, function instances, and the AWS Lambda Runtime API served to them.
 */
package dev.confaas.runtime;
