package dev.confaas.lambda;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What a handler knows about the invocation it serves, from the Runtime API's {@code
 * Lambda-Runtime-*} headers and the function's environment.
 */
public final class Context {
  private final String awsRequestId;
  private final Instant deadline;
  private final String invokedFunctionArn;
  private final String traceId;
  private final String clientContext;
  private final String cognitoIdentity;
  private final String functionName;
  private final String functionVersion;
  private final int memoryLimitMb;
  private final Clock clock;

  Context(
      String awsRequestId,
      Instant deadline,
      String invokedFunctionArn,
      String traceId,
      String clientContext,
      String cognitoIdentity,
      String functionName,
      String functionVersion,
      int memoryLimitMb,
      Clock clock) {
    this.awsRequestId = awsRequestId;
    this.deadline = deadline;
    this.invokedFunctionArn = invokedFunctionArn;
    this.traceId = traceId;
    this.clientContext = clientContext;
    this.cognitoIdentity = cognitoIdentity;
    this.functionName = functionName;
    this.functionVersion = functionVersion;
    this.memoryLimitMb = memoryLimitMb;
    this.clock = clock;
  }

  /** The invocation's request ID ({@code Lambda-Runtime-Aws-Request-Id}). */
  public String awsRequestId() {
    return awsRequestId;
  }

  /**
   * When the agent will stop waiting and kill this process ({@code Lambda-Runtime-Deadline-Ms},
   * on the agent's clock).
   */
  public Instant deadline() {
    return deadline;
  }

  /** Time left until {@link #deadline()} on this process's clock; zero once past it. */
  public Duration remainingTime() {
    Duration d = Duration.between(clock.instant(), deadline);
    return d.isNegative() ? Duration.ZERO : d;
  }

  /** {@code Lambda-Runtime-Invoked-Function-Arn}, empty string when the agent sent none. */
  public String invokedFunctionArn() {
    return invokedFunctionArn;
  }

  /** {@code Lambda-Runtime-Trace-Id}, if sent. */
  public Optional<String> traceId() {
    return Optional.ofNullable(traceId);
  }

  /** {@code Lambda-Runtime-Client-Context} (JSON text), if sent. */
  public Optional<String> clientContext() {
    return Optional.ofNullable(clientContext);
  }

  /** {@code Lambda-Runtime-Cognito-Identity} (JSON text), if sent. */
  public Optional<String> cognitoIdentity() {
    return Optional.ofNullable(cognitoIdentity);
  }

  /** {@code AWS_LAMBDA_FUNCTION_NAME}. */
  public String functionName() {
    return functionName;
  }

  /** {@code AWS_LAMBDA_FUNCTION_VERSION}. */
  public String functionVersion() {
    return functionVersion;
  }

  /** {@code AWS_LAMBDA_FUNCTION_MEMORY_SIZE}, 0 when not set. */
  public int memoryLimitMb() {
    return memoryLimitMb;
  }

  @Override
  public String toString() {
    return "Context[" + awsRequestId + ", deadline " + deadline + ", " + functionName + "]";
  }
}
