package dev.confaas.vendor.framework.awsfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** A handler that throws, through a method of its own so the stack trace has a frame to find. */
public class OrderFailure implements RequestHandler<Map<String, Object>, String> {
  @Override
  public String handleRequest(Map<String, Object> event, Context context) {
    return reserve(String.valueOf(event.get("order")));
  }

  private static String reserve(String order) {
    throw new IllegalStateException("no stock for order " + order);
  }
}
