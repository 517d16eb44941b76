package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.model.Timestamps;
import dev.engagement.pipeline.sink.StoreRefusedException;
import dev.engagement.pipeline.sink.warehouse.Warehouse;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The BigQuery REST calls the pipeline makes (API v2): datasets.get/insert, tables.get/insert,
 * jobs.query with jobs.getQueryResults, and a dry-run jobs.insert that says what a statement is.
 */
final class BigQueryRest {
    private final PipelineConfig.Warehouse config;
    private final GoogleAuth auth;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;

    BigQueryRest(PipelineConfig.Warehouse config, GoogleAuth auth) {
        this.config = config;
        this.auth = auth;
        String endpoint = config.bigQueryEndpoint().toString().replaceAll("/+$", "");
        this.base = endpoint + "/bigquery/v2/projects/" + enc(config.googleCloudProject());
    }

    /** A failed call: the HTTP status and BigQuery's own message. */
    static final class ApiException extends IOException {
        final int status;

        ApiException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /**
     * Creates the dataset and the table when missing, and checks an existing table's columns.
     * Returns the table resource.
     *
     * @throws StoreRefusedException the table exists with other columns
     */
    JsonNode ensureTable() throws IOException, InterruptedException, StoreRefusedException {
        String dataset = base + "/datasets/" + enc(config.bigQueryDataset());
        if (get(dataset).isEmpty()) {
            ObjectNode d = Json.MAPPER.createObjectNode();
            d.putObject("datasetReference").put("projectId", config.googleCloudProject())
                    .put("datasetId", config.bigQueryDataset());
            d.put("location", config.bigQueryLocation());
            send("POST", base + "/datasets", d, true);
        }
        String tableUrl = dataset + "/tables/" + enc(config.bigQueryTable());
        Optional<JsonNode> table = get(tableUrl);
        if (table.isEmpty()) {
            send("POST", dataset + "/tables", BigQueryTable.resource(config.googleCloudProject(),
                    config.bigQueryDataset(), config.bigQueryTable()), true);
            table = get(tableUrl);
        }
        JsonNode t = table.orElseThrow(() -> new IOException("table " + config.bigQueryTableName()
                + " could not be created"));
        List<String> problems = BigQueryTable.problems(t);
        if (!problems.isEmpty()) {
            throw new StoreRefusedException("BigQuery table " + config.bigQueryTableName()
                    + " exists with another schema: " + String.join("; ", problems)
                    + " (drop it, or set BIGQUERY_TABLE to another table)");
        }
        return t;
    }

    /** The statement type BigQuery's dry run sees ("SELECT", "INSERT", ...). */
    String statementType(String sql) throws IOException, InterruptedException {
        ObjectNode job = Json.MAPPER.createObjectNode();
        ObjectNode configuration = job.putObject("configuration");
        configuration.put("dryRun", true);
        ObjectNode query = configuration.putObject("query").put("query", sql).put("useLegacySql", false);
        query.putObject("defaultDataset").put("projectId", config.googleCloudProject())
                .put("datasetId", config.bigQueryDataset());
        job.putObject("jobReference").put("projectId", config.googleCloudProject())
                .put("location", config.bigQueryLocation());
        JsonNode r = send("POST", base + "/jobs", job, false);
        return r.path("statistics").path("query").path("statementType").asText("");
    }

    /** Runs a query job (Standard SQL) and reads its rows, at most {@code limits.maxRows()}. */
    Warehouse.QueryResult query(String sql, Warehouse.QueryLimits limits) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limits.timeout().toNanos();
        ObjectNode q = Json.MAPPER.createObjectNode();
        q.put("query", sql).put("useLegacySql", false).put("location", config.bigQueryLocation())
                .put("timeoutMs", Math.min(10_000, limits.timeout().toMillis()))
                .put("maxResults", Math.min(limits.maxRows() + 1L, 100_000));
        // unqualified table names are the pipeline's dataset's
        q.putObject("defaultDataset").put("projectId", config.googleCloudProject()).put("datasetId", config.bigQueryDataset());
        JsonNode page = send("POST", base + "/queries", q, false);
        String jobId = page.path("jobReference").path("jobId").asText();
        List<String> columns = new ArrayList<>();
        List<String> types = new ArrayList<>();
        List<List<Object>> rows = new ArrayList<>();
        boolean truncated = false;
        while (true) {
            if (!page.path("jobComplete").asBoolean(true)) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("the query ran longer than " + limits.timeout().toMillis()
                            + " ms (WAREHOUSE_QUERY_TIMEOUT)");
                }
                page = send("GET", results(jobId, null), null, false);
                continue;
            }
            if (columns.isEmpty()) {
                for (JsonNode f : page.path("schema").path("fields")) {
                    columns.add(f.path("name").asText());
                    types.add(f.path("type").asText());
                }
            }
            for (JsonNode row : page.path("rows")) {
                if (rows.size() == limits.maxRows()) {
                    truncated = true;
                    break;
                }
                List<Object> values = new ArrayList<>(columns.size());
                JsonNode cells = row.path("f");
                for (int i = 0; i < columns.size(); i++) {
                    values.add(value(cells.path(i).path("v"), types.get(i)));
                }
                rows.add(values);
            }
            String token = page.path("pageToken").asText("");
            if (truncated || token.isEmpty()) {
                break;
            }
            page = send("GET", results(jobId, token), null, false);
        }
        return new Warehouse.QueryResult(columns, rows, truncated);
    }

    private String results(String jobId, String pageToken) {
        return base + "/queries/" + enc(jobId) + "?location=" + enc(config.bigQueryLocation()) + "&timeoutMs=10000"
                + (pageToken == null ? "" : "&pageToken=" + enc(pageToken));
    }

    /** A REST cell as the value the pipeline shows: INTEGER as long, NUMERIC as decimal, TIMESTAMP as ISO text. */
    static Object value(JsonNode v, String type) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return null;
        }
        String s = v.asText();
        return switch (type) {
            case "INTEGER", "INT64" -> Long.parseLong(s);
            case "FLOAT", "FLOAT64" -> Double.parseDouble(s);
            case "NUMERIC", "BIGNUMERIC" -> new BigDecimal(s);
            case "BOOLEAN", "BOOL" -> Boolean.parseBoolean(s);
            case "TIMESTAMP" -> Timestamps.iso(micros(s));
            default -> s;
        };
    }

    /** TIMESTAMP cells come as seconds since the epoch, e.g. "1.7015184001234E9". */
    private static Instant micros(String seconds) {
        BigDecimal micros = new BigDecimal(seconds).movePointRight(6);
        long m = micros.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
        return Instant.ofEpochSecond(Math.floorDiv(m, 1_000_000L), Math.floorMod(m, 1_000_000L) * 1000L);
    }

    private Optional<JsonNode> get(String url) throws IOException, InterruptedException {
        try {
            return Optional.of(send("GET", url, null, false));
        } catch (ApiException e) {
            if (e.status == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private JsonNode send(String method, String url, JsonNode body, boolean conflictIsFine)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .header("Accept", "application/json");
        Optional<String> authorization = auth.authorization();
        authorization.ifPresent(a -> b.header("Authorization", a));
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body)));
        }
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() == 409 && conflictIsFine) {
            return Json.MAPPER.createObjectNode(); // made meanwhile by another instance
        }
        if (r.statusCode() / 100 != 2) {
            String message;
            try {
                message = Json.MAPPER.readTree(r.body()).path("error").path("message").asText("");
            } catch (IOException e) {
                message = "";
            }
            String path = url.substring(url.indexOf("/bigquery/v2") + "/bigquery/v2".length()).replaceAll("\\?.*", "");
            throw new ApiException(r.statusCode(), "BigQuery " + method + " " + path + ": HTTP " + r.statusCode()
                    + (message.isEmpty() ? "" : ": " + message));
        }
        return r.body().length == 0 ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
