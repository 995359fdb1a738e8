package dev.confaas.lambda;

/**
 * A function: one event in, one response out. The class implementing it needs a public
 * no-argument constructor; one instance serves every invocation of its process, one at a time.
 *
 * <p>Throwing reports a function error: {@code errorType} is the exception's class name and {@code
 * errorMessage} its message, and the process stays up for the next event.
 */
@FunctionalInterface
public interface Handler {
  /**
   * Handles one event.
   *
   * @param event the invocation payload as the caller sent it (possibly empty, never null)
   * @param context the request ID, deadline and function identity of this invocation
   * @return the response payload; {@code null} is sent as an empty response
   */
  byte[] handle(byte[] event, Context context) throws Exception;
}
