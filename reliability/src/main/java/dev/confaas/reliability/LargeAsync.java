package dev.confaas.reliability;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Scenario 3: large async invocations (issue 11, defect 3: a ~900 KB result was refused by the
 * producer's 1 MiB limit and stopped the async worker for good, across restarts; bodies from
 * 800,000 bytes up to the documented 6 MiB got 503). A function printing 900 KiB, and a 6 MiB body
 * (the documented {@code gateway.maxBodyBytes}) to a function that counts it, both by {@code
 * invoke-async}: each must be accepted (202), end {@code SUCCEEDED} with the right result, and a
 * small async call afterwards must still complete (the worker did not stop).
 */
final class LargeAsync {
  static final int RESULT_BYTES = 900 * 1024;
  static final int BODY_BYTES = 6 * 1024 * 1024;

  void run(Harness h, ScenarioResult r) throws Exception {
    h.deployShell("rel-bigresult", "#!/bin/sh\ncat > /dev/null\n"
        + "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c "
        + RESULT_BYTES + "\n");
    h.deployShell("rel-bodysize", "#!/bin/sh\nwc -c | tr -d ' \\n'\n");
    byte[] body = new byte[BODY_BYTES];
    Arrays.fill(body, (byte) 'b');
    Duration within = Duration.ofSeconds(100);
    CompletableFuture<AsyncCalls.Outcome> big =
        call(h, "rel-bigresult", "x".getBytes(StandardCharsets.UTF_8), within);
    CompletableFuture<AsyncCalls.Outcome> large = call(h, "rel-bodysize", body, within);
    AsyncCalls.Outcome bigResult = big.get();
    AsyncCalls.Outcome largeBody = large.get();
    AsyncCalls.Outcome after = AsyncCalls.submitAndWait(h.http, h.up.url, "hello",
        "after-large".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(60));

    Map<String, Object> f1 = new LinkedHashMap<>();
    f1.put("submitted", bigResult.submitted());
    f1.put("state", bigResult.state());
    f1.put("resultBytes", bigResult.result() == null ? null : bigResult.result().length);
    f1.put("seconds", bigResult.seconds());
    f1.put("error", bigResult.error() == null ? null : AsyncCalls.shorten(bigResult.error()));
    r.figure("result900KiB", f1);
    Map<String, Object> f2 = new LinkedHashMap<>();
    f2.put("bodyBytes", BODY_BYTES);
    f2.put("submitted", largeBody.submitted());
    f2.put("state", largeBody.state());
    f2.put("result", largeBody.result() == null ? null
        : new String(largeBody.result(), StandardCharsets.UTF_8));
    f2.put("seconds", largeBody.seconds());
    f2.put("error", largeBody.error() == null ? null : AsyncCalls.shorten(largeBody.error()));
    r.figure("body6MiB", f2);
    r.figure("smallAsyncAfterwards", after.describe());
    if (bigResult.state().equals("SUCCEEDED") && !after.state().equals("SUCCEEDED")) {
      r.note("the 900 KiB result was reported SUCCEEDED, yet later async calls were refused:"
          + " look for 'outcome could not be recorded' in the platform's log (the result was not"
          + " stored)");
    }

    r.check(bigResult.state().equals("SUCCEEDED") && bigResult.result() != null
            && bigResult.result().length == RESULT_BYTES,
        "the 900 KiB result: " + bigResult.describe());
    r.check(largeBody.state().equals("SUCCEEDED") && largeBody.result() != null
            && new String(largeBody.result(), StandardCharsets.UTF_8).strip()
                .equals(Integer.toString(BODY_BYTES)),
        "the 6 MiB body: " + largeBody.describe());
    r.check(after.state().equals("SUCCEEDED"),
        "a small async call afterwards: " + after.describe());
    r.summary = "900 KiB result: " + bigResult.brief() + "; 6 MiB body: " + largeBody.brief()
        + "; small async call after: " + after.brief();
  }

  private static CompletableFuture<AsyncCalls.Outcome> call(
      Harness h, String function, byte[] event, Duration within) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return AsyncCalls.submitAndWait(h.http, h.up.url, function, event, within);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    });
  }
}
