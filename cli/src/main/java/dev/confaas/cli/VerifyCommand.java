package dev.confaas.cli;

import dev.confaas.agent.Receipt;
import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.TdEvidence;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code confaas verify}: checks a TD's receipt offline against that TD's evidence
 * (docs/receipts.md §5) and prints, line by line, what each check established and what it did not.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Verify an invocation's receipt offline against its TD's evidence.",
      "Prints each check as PASS, FAIL or NOT_CHECKED with what it established; exits 0",
      "only when no check failed."
    },
    footer = {
      "",
      "RECEIPT is the compact JWS, a file holding it, or a 'curl -D FILE' header dump",
      "(its ConFaaS-Receipt header is used). EVIDENCE is GET /v1/tds/ID/evidence, or",
      "the document of GET /v1/functions/NAME/evidence (the receipt's TD is picked",
      "from it).",
      "",
      "Examples:",
      "  curl -s -D headers.txt -o response.bin --data-binary @event.json \\",
      "      $URL/v1/functions/hello/invoke",
      "  td=$(grep -i x-confaas-td-id headers.txt | cut -d' ' -f2 | tr -d '\\r')",
      "  curl -s $URL/v1/tds/$td/evidence > evidence.json",
      "  confaas verify headers.txt --evidence evidence.json --request event.json \\",
      "      --response response.bin --trust-dev-root"
    })
final class VerifyCommand implements Callable<Integer> {
  static final String HEADER = "ConFaaS-Receipt";

  @Spec CommandSpec spec;
  @Mixin ReceiptTrust.Options trust;

  @Parameters(index = "0", paramLabel = "RECEIPT",
      description = "The receipt: a compact JWS, a file with one, or a curl -D header dump.")
  String receipt;

  @Option(names = "--evidence", required = true, paramLabel = "FILE",
      description = "The TD's evidence (JSON).")
  Path evidence;

  @Option(names = "--request", paramLabel = "FILE",
      description = "The event bytes sent (checks event_sha256).")
  Path request;

  @Option(names = "--response", paramLabel = "FILE",
      description = "The response bytes received (checks response_sha256).")
  Path response;

  @Override
  public Integer call() {
    String jws = readReceipt(receipt);
    TdEvidence ev = readEvidence(evidence, tdOf(jws));
    ReceiptVerifier.Result r = trust.verifier(ev, Clock.systemUTC()).verify(jws, ev,
        request == null ? null : AttestCommand.readFile(request, "request"),
        response == null ? null : AttestCommand.readFile(response, "response"));
    print(spec.commandLine().getOut(), r);
    return r.verified() ? 0 : 1;
  }

  static void print(PrintWriter out, ReceiptVerifier.Result r) {
    r.receipt().ifPresent(rc -> {
      Receipt.Claims c = rc.claims();
      out.println("receipt of request " + c.requestId() + ": function "
          + (c.functionName() == null ? "?" : c.functionName())
          + (c.functionVersion() == null ? "" : " " + c.functionVersion())
          + ", image " + c.imageId() + ", TD " + c.tdId()
          + (c.sealed() ? ", sealed" : "") + ", signed " + java.time.Instant.ofEpochSecond(c.issuedAt()));
    });
    for (ReceiptVerifier.Line l : r.lines()) {
      out.println(l);
    }
    out.println(r.verified() ? "receipt VERIFIED" : "receipt REFUSED: " + String.join(", ",
        r.failures().stream().map(l -> l.check().name()).toList()) + " failed");
    out.flush();
  }

  /** The compact JWS in {@code arg}: itself, or the content of the file it names (a header dump too). */
  static String readReceipt(String arg) {
    String text = arg;
    Path p = Path.of(arg.length() > 4096 ? "-" : arg);
    if (!arg.startsWith("ey") && Files.isRegularFile(p)) {
      text = new String(AttestCommand.readFile(p, "receipt"), StandardCharsets.UTF_8);
    }
    String found = null;
    for (String line : text.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(HEADER)) {
        found = line.substring(colon + 1).strip(); // the last one wins: curl -L dumps every hop
      }
    }
    if (found == null) {
      found = text.strip();
    }
    if (found.isEmpty() || found.chars().anyMatch(Character::isWhitespace)) {
      throw new Main.CliException("no receipt in " + (text == arg ? "the argument" : arg)
          + ": give the compact JWS, a file holding it, or a 'curl -D' dump with a " + HEADER
          + " header");
    }
    return found;
  }

  private static String tdOf(String jws) {
    try {
      return Receipt.parse(jws).claims().tdId();
    } catch (IllegalArgumentException e) {
      return null; // the verifier reports the format; pick no TD
    }
  }

  /**
   * The evidence in {@code file}: a TD's evidence document, or a function's (then the one of TD
   * {@code tdId}, or the only one).
   */
  static TdEvidence readEvidence(Path file, String tdId) {
    byte[] bytes = AttestCommand.readFile(file, "evidence");
    try {
      JsonObject o = new JsonObject(new String(bytes, StandardCharsets.UTF_8));
      JsonArray list = o.getJsonArray("evidence");
      if (list != null) {
        JsonObject pick = null;
        for (Object x : list) {
          JsonObject e = (JsonObject) x;
          if (list.size() == 1 || e.getString("td_id", "").equals(tdId)) {
            pick = e;
          }
        }
        if (pick == null) {
          throw new Main.CliException("the function evidence in " + file + " lists no TD "
              + tdId + "; fetch GET /v1/tds/" + tdId + "/evidence instead");
        }
        bytes = pick.encode().getBytes(StandardCharsets.UTF_8);
      }
      return TdEvidence.parse(bytes);
    } catch (RuntimeException e) {
      if (e instanceof Main.CliException c) {
        throw c;
      }
      throw new Main.CliException("evidence " + file + " is not a TD's evidence document: "
          + e.getMessage(), e);
    }
  }
}
