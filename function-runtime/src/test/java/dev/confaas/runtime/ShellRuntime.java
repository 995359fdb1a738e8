package dev.confaas.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A real custom runtime in POSIX sh + curl, as AWS's own tutorial builds one: it loops on
 * {@code invocation/next}, runs a handler body on {@code $EVENT} that sets {@code $OUT}, and posts
 * {@code $OUT} as the response. Handler bodies may call {@code fail TYPE MESSAGE} to post an error.
 */
final class ShellRuntime {
  private ShellRuntime() {}

  static Path write(Path parent, String name, String handlerBody) {
    String script =
        String.join(
            "\n",
            "#!/bin/sh",
            "API=\"http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime\"",
            "fail() {",
            "  curl -sS -o /dev/null -X POST -H \"Lambda-Runtime-Function-Error-Type: $1\" \\",
            "    --data-binary \"{\\\"errorMessage\\\":\\\"$2\\\",\\\"errorType\\\":\\\"$1\\\"}\" \\",
            "    \"$API/invocation/$ID/error\"",
            "}",
            // A directory of its own: without a sandbox, /tmp is shared with everything else.
            "T=$(mktemp -d 2>/dev/null) || { T=/tmp/runtime.$$; mkdir -p \"$T\"; }",
            "while :; do",
            "  curl -sS -D \"$T/headers\" -o \"$T/event\" \"$API/invocation/next\" || exit 70",
            "  ID=$(grep -i '^lambda-runtime-aws-request-id:' \"$T/headers\" | tr -d '[:space:]' | cut -d: -f2)",
            "  EVENT=$(cat \"$T/event\")",
            "  OUT=''",
            "  FAILED=''",
            handlerBody,
            "  if [ -z \"$FAILED\" ]; then",
            "    curl -sS -o /dev/null -X POST --data-binary \"$OUT\" \"$API/invocation/$ID/response\"",
            "  fi",
            "done",
            "");
    return writeExecutable(parent, name, script);
  }

  /** A task directory holding only {@code bootstrap} with the given full script. */
  static Path writeExecutable(Path parent, String name, String script) {
    try {
      Path dir = Files.createDirectories(parent.resolve(name));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path bootstrap = dir.resolve("bootstrap");
      Files.writeString(bootstrap, script);
      Files.setPosixFilePermissions(bootstrap, PosixFilePermissions.fromString("rwxr-xr-x"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
