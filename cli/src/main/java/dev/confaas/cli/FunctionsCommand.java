package dev.confaas.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code confaas functions list|get|delete}: what is deployed on the gateway. */
@Command(
    name = "functions",
    mixinStandardHelpOptions = true,
    description = "List, show and delete deployed functions.",
    footer = {
      "",
      "Examples:",
      "  confaas functions list",
      "  confaas functions get hello",
      "  confaas functions delete hello"
    },
    subcommands = {
      FunctionsCommand.ListCommand.class,
      FunctionsCommand.GetCommand.class,
      FunctionsCommand.DeleteCommand.class
    })
final class FunctionsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: see 'confaas functions --help'");
  }

  static String path(String name) {
    return "/v1/functions/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List deployed functions: name, latest version, versions, image of latest.",
      footer = {
        "",
        "Examples:",
        "  confaas functions list",
        "  confaas functions list --json",
        "  CONFAAS_URL=http://gw:8080 CONFAAS_TOKEN=... confaas functions list"
      })
  static final class ListCommand implements Runnable {
    @Spec CommandSpec spec;
    @Mixin GatewayClient.Options gateway;

    @Option(names = "--json", description = "Print the gateway's JSON array.")
    boolean json;

    @Override
    public void run() {
      GatewayClient.Response r =
          GatewayClient.check(gateway.client().get("/v1/functions"), "list functions");
      PrintWriter out = spec.commandLine().getOut();
      JsonArray all = new JsonArray(r.text());
      if (json) {
        out.println(all.encode());
        return;
      }
      if (all.isEmpty()) {
        out.println("no functions deployed");
        return;
      }
      out.println(String.format("%-24s %-7s %-9s %s", "NAME", "LATEST", "VERSIONS", "IMAGE"));
      for (Object o : all) {
        JsonObject f = (JsonObject) o;
        int latest = f.getJsonObject("aliases").getInteger("latest", 0);
        String image = "";
        for (Object v : f.getJsonArray("versions")) {
          if (((JsonObject) v).getInteger("version") == latest) {
            image = ((JsonObject) v).getString("imageId");
          }
        }
        out.println(String.format("%-24s %-7d %-9d %s", f.getString("name"), latest,
            f.getJsonArray("versions").size(), image));
      }
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Show a function's versions, aliases, image IDs and settings (JSON).",
      footer = {
        "",
        "Examples:",
        "  confaas functions get hello",
        "  confaas functions get hello --json | jq -r '.versions[-1].imageId'"
      })
  static final class GetCommand implements Runnable {
    @Spec CommandSpec spec;
    @Mixin GatewayClient.Options gateway;

    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--json", description = "Compact JSON on one line (default: indented).")
    boolean json;

    @Override
    public void run() {
      GatewayClient.Response r =
          GatewayClient.check(gateway.client().get(path(name)), "get function " + name);
      JsonObject f = new JsonObject(r.text());
      spec.commandLine().getOut().println(json ? f.encode() : f.encodePrettily());
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Forget a function and all its versions.",
      footer = {
        "",
        "Examples:",
        "  confaas functions delete hello",
        "  confaas functions delete hello --url http://gw:8080 --token \"$ADMIN_TOKEN\""
      })
  static final class DeleteCommand implements Runnable {
    @Spec CommandSpec spec;
    @Mixin GatewayClient.Options gateway;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public void run() {
      GatewayClient.check(gateway.client().delete(path(name)), "delete function " + name);
      spec.commandLine().getOut().println("deleted " + name);
    }
  }
}
