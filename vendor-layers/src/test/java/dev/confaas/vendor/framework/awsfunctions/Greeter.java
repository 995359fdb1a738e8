package dev.confaas.vendor.framework.awsfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** A POJO handler: the event is deserialized into a Map, the String result serialized as JSON. */
public class Greeter implements RequestHandler<Map<String, Object>, String> {
  @Override
  public String handleRequest(Map<String, Object> event, Context context) {
    context.getLogger().log("greeting " + event.get("name"));
    return "hello " + event.get("name") + " from " + context.getFunctionName() + " ("
        + context.getAwsRequestId() + ", " + context.getMemoryLimitInMB() + " MB)";
  }
}
