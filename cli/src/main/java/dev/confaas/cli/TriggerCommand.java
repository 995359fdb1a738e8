package dev.confaas.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code confaas trigger}: Kafka triggers, through the gateway's {@code /v1/triggers} routes. */
@Command(
    name = "trigger",
    mixinStandardHelpOptions = true,
    description = "Deliver the records of a Kafka topic to a function.",
    footer = {
      "",
      "Examples:",
      "  confaas trigger add rev --topic rev-in --reply-topic rev-out",
      "  confaas trigger list",
      "  confaas trigger remove trg-1a2b3c4d"
    },
    subcommands = {
      TriggerCommand.Add.class,
      TriggerCommand.ListTriggers.class,
      TriggerCommand.Remove.class,
      CommandLine.HelpCommand.class
    })
final class TriggerCommand implements Runnable {
  /** Where the gateway endpoint is looked up; tests point it at their own environment. */
  static Supplier<Map<String, String>> environment = System::getenv;

  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas trigger --help'");
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {
        "Add a trigger: each record on --topic becomes an invocation of FUNCTION.",
        "With --reply-topic, each result is produced there; records that still fail",
        "after --max-retries go to --dead-letter-topic (else they are skipped)."
      },
      footer = {
        "",
        "Examples:",
        "  confaas trigger add rev --topic rev-in --reply-topic rev-out \\",
        "      --dead-letter-topic rev-dlq",
        "  confaas trigger add thumbnail --topic uploads --ordering key --concurrency 4",
        "  confaas trigger add audit --topic payments --batch-size 50 --group audit-1"
      })
  static final class Add implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FUNCTION", description = "The function to deliver records to.")
    String function;

    @Option(names = "--topic", required = true, description = "The topic to consume.")
    String topic;

    @Option(names = "--group", description = "Consumer group (default confaas-FUNCTION-TOPIC).")
    String group;

    @Option(names = "--reply-topic", description = "Produce the function's results here.")
    String replyTopic;

    @Option(names = "--dead-letter-topic", description = "Records that keep failing go here.")
    String deadLetterTopic;

    @Option(names = "--max-retries", defaultValue = "3", description = "Retries before dead-lettering (default ${DEFAULT-VALUE}).")
    int maxRetries;

    @Option(names = "--batch-size", defaultValue = "1", description = "Records per invocation (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--ordering", defaultValue = "partition", description = "partition, key or none (default ${DEFAULT-VALUE}).")
    String ordering;

    @Option(names = "--concurrency", defaultValue = "1", description = "Invocations in flight (default ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--event", paramLabel = "value|envelope",
        description = "What the function receives: value (the record's value bytes, as an HTTP"
            + " invoke's body; the default) or envelope (JSON with topic, partition, offset,"
            + " timestamp, key, value, headers; needed for --batch-size above 1). README, \"Kafka events\".")
    String event;

    @Option(names = "--json", description = "Print the trigger as JSON.")
    boolean json;

    @Override
    public Integer call() {
      if (!ordering.matches("partition|key|none")) {
        throw new Main.CliException("--ordering must be partition, key or none, was '" + ordering + "'");
      }
      if (event != null && !event.matches("value|envelope")) {
        throw new Main.CliException("--event must be value or envelope, was '" + event + "'");
      }
      ObjectNode body = JSON.createObjectNode();
      body.put("function", function);
      body.put("topic", topic);
      body.put("group", group);
      body.put("replyTopic", replyTopic);
      body.put("deadLetterTopic", deadLetterTopic);
      body.put("maxRetries", maxRetries);
      body.put("batchSize", batchSize);
      body.put("ordering", ordering);
      body.put("concurrency", concurrency);
      if (event != null) {
        body.put("event", event);
      }
      JsonNode t = request("POST", "", body.toString(), 201);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(t.toString());
      } else {
        out.println(t.path("id").asText());
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {
        "List triggers: ID, function, topic, ordering, reply topic and dead-letter topic.",
      },
      footer = {
        "",
        "Examples:",
        "  confaas trigger list",
        "  confaas trigger list --json | jq -r 'select(.function == \"rev\") | .id'"
      })
  static final class ListTriggers implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object per trigger.")
    boolean json;

    @Override
    public Integer call() {
      JsonNode list = request("GET", "", null, 200).path("triggers");
      PrintWriter out = spec.commandLine().getOut();
      String row = "%-14s %-20s %-24s %-10s %-24s %s%n";
      if (!json) {
        out.printf(row, "ID", "FUNCTION", "TOPIC", "ORDERING", "REPLY-TOPIC", "DEAD-LETTER");
      }
      for (JsonNode t : list) {
        if (json) {
          out.println(t.toString());
        } else {
          out.printf(
              row,
              t.path("id").asText(),
              t.path("function").asText(),
              t.path("topic").asText(),
              t.path("ordering").asText(),
              t.hasNonNull("replyTopic") ? t.get("replyTopic").asText() : "-",
              t.hasNonNull("deadLetterTopic") ? t.get("deadLetterTopic").asText() : "-");
        }
      }
      return 0;
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Remove a trigger; its consumer group's offsets stay in Kafka.",
      footer = {
        "",
        "Examples:",
        "  confaas trigger list",
        "  confaas trigger remove trg-1a2b3c4d"
      })
  static final class Remove implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The trigger's ID (see 'confaas trigger list').")
    String id;

    @Override
    public Integer call() {
      request("DELETE", "/" + URLEncoder.encode(id, StandardCharsets.UTF_8), null, 204);
      spec.commandLine().getOut().println("removed " + id);
      return 0;
    }
  }

  /** Calls {@code /v1/triggers<path>}; returns the JSON body, or throws the gateway's error. */
  static JsonNode request(String method, String path, String body, int expected) {
    GatewayEndpoint gw = GatewayEndpoint.resolve(environment.get());
    URI uri = URI.create(gw.url() + "/v1/triggers" + path);
    HttpRequest.Builder req =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(60))
            .method(
                method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      req.header("Content-Type", "application/json");
    }
    if (gw.token() != null) {
      req.header("Authorization", "Bearer " + gw.token());
    }
    HttpResponse<String> resp;
    try {
      resp =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(10))
              .build()
              .send(req.build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new Main.CliException("cannot reach the gateway at " + gw.url() + "; is 'confaas up' running?");
    } catch (IOException e) {
      throw new Main.CliException("calling " + uri + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Main.CliException("interrupted calling " + uri);
    }
    JsonNode json;
    try {
      json = resp.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(resp.body());
    } catch (IOException e) {
      json = null;
    }
    if (resp.statusCode() != expected) {
      String why = GatewayClient.describe(resp.statusCode(), resp.body());
      if (resp.statusCode() == 401 || resp.statusCode() == 403) {
        why = "the gateway refused the management token (set CONFAAS_TOKEN or check admin.token): " + why;
      }
      throw new Main.CliException(method + " " + uri.getPath() + " failed: " + why);
    }
    if (json == null) {
      throw new Main.CliException("the gateway answered " + uri.getPath() + " with something other than JSON");
    }
    return json;
  }
}
