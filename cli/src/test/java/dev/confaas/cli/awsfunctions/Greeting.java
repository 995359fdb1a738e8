package dev.confaas.cli.awsfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** An AWS POJO handler, as an author writes it for Lambda; {@code fail} makes it throw. */
public class Greeting implements RequestHandler<Map<String, Object>, String> {
  @Override
  public String handleRequest(Map<String, Object> event, Context context) {
    if (event.containsKey("fail")) {
      throw new IllegalStateException("cannot greet " + event.get("fail"));
    }
    return "hello " + event.get("name") + " from " + context.getFunctionName() + " ("
        + context.getMemoryLimitInMB() + " MB, " + System.getenv("AWS_EXECUTION_ENV") + ")";
  }
}
