package dev.engagement.pipeline.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.sink.warehouse.bigquery.BigQueryWarehouse;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "warehouse", mixinStandardHelpOptions = true, description = "Analytics warehouse tasks.",
        subcommands = {WarehouseCommand.Query.class})
final class WarehouseCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: query");
    }

    @Command(name = "query", mixinStandardHelpOptions = true,
            description = {"Runs one SELECT against the configured warehouse and prints the result.",
                    "The warehouse keeps it read-only. While a pipeline writes the DuckDB file, the query goes "
                            + "through that pipeline's API on HTTP_PORT of this host (with ADMIN_TOKEN when set).",
                    "With WAREHOUSE=bigquery it runs as a BigQuery query job (Standard SQL)."})
    static final class Query implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "SQL", description = "The query, e.g. \"SELECT count(*) FROM engagement_events_enriched\".")
        String sql;

        @Option(names = "--api", description = "Ask the pipeline running on HTTP_PORT of this host (its warehouse, "
                + "whatever it is: e.g. the fake of `demo --warehouse bigquery`).")
        boolean api;

        @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table",
                description = "table, csv or json (default: ${DEFAULT-VALUE}).")
        String format;

        @Override
        public Integer call() throws Exception {
            Options.oneOf(spec, "--format", format, "table", "csv", "json");
            PipelineConfig config = Cli.config();
            Warehouse.QueryResult result;
            if (api) {
                result = viaRunningPipeline(config);
                print(result, format, System.out);
                return 0;
            }
            Warehouse.QueryLimits limits = new Warehouse.QueryLimits(config.http().queryTimeout(),
                    config.http().queryMaxRows());
            if (config.warehouse().kind() == PipelineConfig.WarehouseKind.BIGQUERY) {
                config.requireFor(java.util.Set.of(dev.engagement.pipeline.config.Component.WAREHOUSE));
                try (BigQueryWarehouse warehouse = new BigQueryWarehouse(config.warehouse())) {
                    result = warehouse.select(sql, limits);
                }
                print(result, format, System.out);
                if (result.truncated()) {
                    System.err.println("(cut at " + result.rows().size() + " rows: WAREHOUSE_QUERY_MAX_ROWS)");
                }
                return 0;
            }
            try (DuckDbWarehouse warehouse = new DuckDbWarehouse(config.warehouse().duckdbPath(), true,
                    config.warehouse().duckdbMemoryMib())) {
                result = warehouse.select(sql, new Warehouse.QueryLimits(config.http().queryTimeout(),
                        config.http().queryMaxRows()));
            } catch (SQLException e) {
                if (e.getMessage() == null || !e.getMessage().contains("lock")) {
                    throw e;
                }
                result = viaRunningPipeline(config);
            }
            print(result, format, System.out);
            if (result.truncated()) {
                System.err.println("(cut at " + result.rows().size() + " rows: WAREHOUSE_QUERY_MAX_ROWS)");
            }
            return 0;
        }

        private Warehouse.QueryResult viaRunningPipeline(PipelineConfig config) throws Exception {
            URI uri = URI.create("http://127.0.0.1:" + config.httpPort() + "/api/warehouse/query");
            HttpResponse<String> response;
            try {
                HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(sql, StandardCharsets.UTF_8));
                if (!config.http().adminToken().isEmpty()) {
                    request.header("Authorization", "Bearer " + config.http().adminToken().reveal());
                }
                response = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                throw new IllegalStateException((api ? "" : config.warehouse().duckdbPath() + " is in use by another "
                        + "process, and ") + "no pipeline API answered on port " + config.httpPort() + " to run the query there");
            }
            JsonNode body = Json.MAPPER.readTree(response.body());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(body.path("error").asText(response.body()));
            }
            return Warehouse.QueryResult.fromJson(body);
        }
    }

    static void print(Warehouse.QueryResult r, String format, PrintStream out) throws Exception {
        switch (format) {
            case "json" -> out.println(Json.MAPPER.writeValueAsString(r.toJson()));
            case "csv" -> {
                out.println(String.join(",", r.columns().stream().map(WarehouseCommand::csv).toList()));
                for (List<Object> row : r.rows()) {
                    out.println(String.join(",", row.stream().map(v -> csv(v == null ? "" : String.valueOf(v))).toList()));
                }
            }
            default -> table(r, out);
        }
    }

    private static void table(Warehouse.QueryResult r, PrintStream out) {
        int n = r.columns().size();
        int[] width = new int[n];
        for (int i = 0; i < n; i++) {
            width[i] = r.columns().get(i).length();
        }
        for (List<Object> row : r.rows()) {
            for (int i = 0; i < n; i++) {
                width[i] = Math.max(width[i], String.valueOf(row.get(i)).length());
            }
        }
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < n; i++) {
            line.append(i == 0 ? "" : " | ").append(pad(r.columns().get(i), width[i]));
        }
        out.println(line);
        out.println("-".repeat(line.length()));
        for (List<Object> row : r.rows()) {
            StringBuilder l = new StringBuilder();
            for (int i = 0; i < n; i++) {
                l.append(i == 0 ? "" : " | ").append(pad(String.valueOf(row.get(i)), width[i]));
            }
            out.println(l);
        }
        out.println("(" + r.rows().size() + (r.rows().size() == 1 ? " row)" : " rows)"));
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(Math.max(0, w - s.length()));
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
