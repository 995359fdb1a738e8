package dev.confaas.pool;

import dev.confaas.lambda.Context;
import dev.confaas.lambda.StringHandler;
import java.util.Locale;

/** A Java function for the vendor Java runtime: its class file is the whole function layer. */
public final class UpperJavaHandler implements StringHandler {
  @Override
  public String handleText(String event, Context context) {
    return event.toUpperCase(Locale.ROOT) + " from " + context.functionName();
  }
}
