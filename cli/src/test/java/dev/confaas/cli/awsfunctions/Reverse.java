package dev.confaas.cli.awsfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** An AWS stream handler: the event's bytes, reversed. */
public class Reverse implements RequestStreamHandler {
  @Override
  public void handleRequest(InputStream input, OutputStream output, Context context)
      throws IOException {
    byte[] event = input.readAllBytes();
    for (int i = event.length - 1; i >= 0; i--) {
      output.write(event[i]);
    }
  }
}
