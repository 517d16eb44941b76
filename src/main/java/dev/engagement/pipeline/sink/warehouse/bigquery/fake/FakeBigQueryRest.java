package dev.engagement.pipeline.sink.warehouse.bigquery.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;

/** The FAKE's REST API (see {@link FakeBigQuery}): datasets, tables, jobs.query, getQueryResults, dry runs. */
final class FakeBigQueryRest implements AutoCloseable {
    private static final String PREFIX = "/bigquery/v2/projects/";
    private static final int PAGE = 10_000;

    private final FakeBigQuery bq;
    private final HttpServer server;
    private final Map<String, List<String[]>> schemas = new HashMap<>();

    FakeBigQueryRest(FakeBigQuery bq, int port) throws IOException {
        this.bq = bq;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4, dev.engagement.pipeline.Threads.daemon("fake-bigquery-rest")));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            if (!path.startsWith(PREFIX + bq.project + "/")) {
                error(ex, 404, "NOT_FOUND", "Not found: project in " + path);
                return;
            }
            String[] p = path.substring((PREFIX + bq.project + "/").length()).split("/");
            String method = ex.getRequestMethod();
            JsonNode body = null;
            if ("POST".equals(method)) {
                try (InputStream in = ex.getRequestBody()) {
                    body = Json.MAPPER.readTree(in.readAllBytes());
                }
            }
            synchronized (bq) {
                String dataset = body == null ? "" : body.path("defaultDataset").path("datasetId").asText(
                        body.path("configuration").path("query").path("defaultDataset").path("datasetId").asText(""));
                boolean scoped = !dataset.isEmpty() && bq.datasets.containsKey(dataset);
                if (scoped) {
                    try (Statement s = bq.db.createStatement()) {
                        s.execute("SET schema = '" + dataset.replace("'", "''") + "'");
                    }
                }
                try {
                    route(ex, method, p, body, query);
                } finally {
                    if (scoped) {
                        try (Statement s = bq.db.createStatement()) {
                            s.execute("SET schema = 'main'");
                        }
                    }
                }
            }
        } catch (Exception e) {
            error(ex, 500, "INTERNAL", "the fake failed: " + e.getMessage());
        }
    }

    private void route(HttpExchange ex, String method, String[] p, JsonNode body, Map<String, String> query)
            throws IOException, SQLException {
        if (p.length == 1 && p[0].equals("datasets") && method.equals("POST")) {
            String d = body.path("datasetReference").path("datasetId").asText();
            if (bq.datasets.putIfAbsent(d, true) != null) {
                error(ex, 409, "ALREADY_EXISTS", "Already Exists: Dataset " + bq.project + ":" + d);
                return;
            }
            try (Statement s = bq.db.createStatement()) {
                s.execute("CREATE SCHEMA \"" + d + "\"");
            }
            json(ex, 200, body);
        } else if (p.length == 2 && p[0].equals("datasets") && method.equals("GET")) {
            if (!bq.datasets.containsKey(p[1])) {
                error(ex, 404, "NOT_FOUND", "Not found: Dataset " + bq.project + ":" + p[1]);
                return;
            }
            ObjectNode d = Json.MAPPER.createObjectNode();
            d.putObject("datasetReference").put("projectId", bq.project).put("datasetId", p[1]);
            json(ex, 200, d);
        } else if (p.length == 3 && p[0].equals("datasets") && p[2].equals("tables") && method.equals("POST")) {
            createTable(ex, p[1], body);
        } else if (p.length == 4 && p[0].equals("datasets") && p[2].equals("tables") && method.equals("GET")) {
            ObjectNode t = bq.tables.get(p[1] + "." + p[3]);
            if (t == null) {
                error(ex, 404, "NOT_FOUND", "Not found: Table " + bq.project + ":" + p[1] + "." + p[3]);
                return;
            }
            json(ex, 200, t);
        } else if (p.length == 1 && p[0].equals("queries") && method.equals("POST")) {
            runQuery(ex, body);
        } else if (p.length == 2 && p[0].equals("queries") && method.equals("GET")) {
            page(ex, p[1], Integer.parseInt(query.getOrDefault("pageToken", "0")));
        } else if (p.length == 1 && p[0].equals("jobs") && method.equals("POST")
                && body.path("configuration").path("dryRun").asBoolean()) {
            dryRun(ex, body.path("configuration").path("query").path("query").asText());
        } else {
            error(ex, 400, "INVALID_ARGUMENT", "this fake does not serve " + method + " " + String.join("/", p));
        }
    }

    private void createTable(HttpExchange ex, String dataset, JsonNode body) throws IOException, SQLException {
        if (!bq.datasets.containsKey(dataset)) {
            error(ex, 404, "NOT_FOUND", "Not found: Dataset " + bq.project + ":" + dataset);
            return;
        }
        String table = body.path("tableReference").path("tableId").asText();
        String key = dataset + "." + table;
        if (bq.tables.containsKey(key)) {
            error(ex, 409, "ALREADY_EXISTS", "Already Exists: Table " + bq.project + ":" + key);
            return;
        }
        StringBuilder ddl = new StringBuilder("CREATE TABLE \"" + dataset + "\".\"" + table + "\" (");
        JsonNode fields = body.path("schema").path("fields");
        for (int i = 0; i < fields.size(); i++) {
            JsonNode f = fields.get(i);
            ddl.append(i == 0 ? "" : ", ").append('"').append(f.path("name").asText()).append("\" ")
                    .append(duckType(f.path("type").asText()))
                    .append("REQUIRED".equals(f.path("mode").asText()) ? " NOT NULL" : "");
        }
        ddl.append(')');
        try (Statement s = bq.db.createStatement()) {
            s.execute(ddl.toString());
        }
        ObjectNode t = body.deepCopy();
        t.put("id", bq.project + ":" + key).put("type", "TABLE").put("creationTime",
                Long.toString(System.currentTimeMillis()));
        ((ObjectNode) t.path("tableReference")).put("projectId", bq.project).put("datasetId", dataset);
        bq.tables.put(key, t);
        json(ex, 200, t);
    }

    private static String duckType(String bigQuery) {
        return switch (bigQuery) {
            case "INTEGER", "INT64" -> "BIGINT";
            case "FLOAT", "FLOAT64" -> "DOUBLE";
            case "BOOLEAN", "BOOL" -> "BOOLEAN";
            case "NUMERIC" -> "DECIMAL(38,9)";
            case "TIMESTAMP" -> "TIMESTAMPTZ";
            case "DATE" -> "DATE";
            default -> "VARCHAR";
        };
    }

    private void dryRun(HttpExchange ex, String sql) throws IOException, SQLException {
        String translated = FakeSql.translate(sql, bq.project);
        String type;
        try (var ps = bq.db.prepareStatement("SELECT json_serialize_sql(?::VARCHAR)")) {
            ps.setString(1, translated);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                JsonNode tree = Json.MAPPER.readTree(rs.getString(1));
                if (!tree.path("error").asBoolean(false)) {
                    type = tree.path("statements").size() == 1 ? "SELECT" : "SCRIPT";
                } else {
                    String first = sql.strip().split("\\s+")[0].toUpperCase(java.util.Locale.ROOT);
                    if (List.of("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE")
                            .contains(first)) {
                        type = first.equals("CREATE") || first.equals("DROP") || first.equals("ALTER")
                                ? first + "_TABLE" : first;
                    } else {
                        error(ex, 400, "INVALID_ARGUMENT", "Syntax error: " + tree.path("error_message").asText());
                        return;
                    }
                }
            }
        }
        ObjectNode job = Json.MAPPER.createObjectNode();
        job.putObject("statistics").putObject("query").put("statementType", type);
        json(ex, 200, job);
    }

    private void runQuery(HttpExchange ex, JsonNode body) throws IOException {
        String sql = FakeSql.translate(body.path("query").asText(), bq.project);
        String jobId = "job_" + UUID.randomUUID().toString().replace("-", "");
        List<String[]> schema = new ArrayList<>();
        List<List<Object>> rows = new ArrayList<>();
        try (Statement s = bq.db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                schema.add(new String[] {md.getColumnLabel(i), bigQueryType(md.getColumnTypeName(i))});
            }
            while (rs.next()) {
                List<Object> row = new ArrayList<>(schema.size());
                for (int i = 1; i <= schema.size(); i++) {
                    row.add(rs.getObject(i));
                }
                rows.add(row);
            }
        } catch (SQLException e) {
            String m = e.getMessage() == null ? "query failed" : e.getMessage().split("\n")[0];
            error(ex, 400, "INVALID_ARGUMENT", m);
            return;
        }
        bq.queryPages.put(jobId, rows);
        schemas.put(jobId, schema);
        int max = body.path("maxResults").asInt(PAGE);
        page(ex, jobId, 0, Math.max(1, Math.min(max, PAGE)));
    }

    private void page(HttpExchange ex, String jobId, int from) throws IOException {
        page(ex, jobId, from, PAGE);
    }

    private void page(HttpExchange ex, String jobId, int from, int size) throws IOException {
        List<List<Object>> rows = bq.queryPages.get(jobId);
        List<String[]> schema = schemas.get(jobId);
        if (rows == null) {
            error(ex, 404, "NOT_FOUND", "Not found: Job " + bq.project + ":" + jobId);
            return;
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("kind", "bigquery#queryResponse").put("jobComplete", true).put("totalRows", Integer.toString(rows.size()));
        out.putObject("jobReference").put("projectId", bq.project).put("jobId", jobId);
        ArrayNode fields = out.putObject("schema").putArray("fields");
        for (String[] c : schema) {
            fields.addObject().put("name", c[0]).put("type", c[1]).put("mode", "NULLABLE");
        }
        ArrayNode rowsOut = out.putArray("rows");
        int to = Math.min(rows.size(), from + size);
        for (int r = from; r < to; r++) {
            ArrayNode f = rowsOut.addObject().putArray("f");
            for (Object v : rows.get(r)) {
                ObjectNode cell = f.addObject();
                if (v == null) {
                    cell.putNull("v");
                } else {
                    cell.put("v", text(v));
                }
            }
        }
        if (to < rows.size()) {
            out.put("pageToken", Integer.toString(to));
        } else {
            bq.queryPages.remove(jobId);
            schemas.remove(jobId);
        }
        json(ex, 200, out);
    }

    /** Values as the REST API writes them: text, TIMESTAMP as seconds since the epoch. */
    private static String text(Object v) {
        Instant i = v instanceof OffsetDateTime t ? t.toInstant() : v instanceof java.sql.Timestamp t ? t.toInstant() : null;
        if (i != null) {
            return i.getEpochSecond() + "." + String.format("%06d", i.getNano() / 1000);
        }
        if (v instanceof BigDecimal d) {
            return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
        }
        return String.valueOf(v);
    }

    private static String bigQueryType(String duck) {
        String t = duck.toUpperCase(java.util.Locale.ROOT);
        if (t.startsWith("DECIMAL")) {
            return "NUMERIC";
        }
        return switch (t) {
            case "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER" -> "INTEGER";
            case "DOUBLE", "FLOAT", "REAL" -> "FLOAT";
            case "BOOLEAN" -> "BOOLEAN";
            case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP" -> "TIMESTAMP";
            case "DATE" -> "DATE";
            default -> "STRING";
        };
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null) {
            return out;
        }
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                out.put(kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static void error(HttpExchange ex, int status, String reason, String message) throws IOException {
        ObjectNode e = Json.MAPPER.createObjectNode();
        e.putObject("error").put("code", status).put("message", message).put("status", reason);
        json(ex, status, e);
    }

    private static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = Json.MAPPER.writeValueAsBytes(body);
        ex.getResponseHeaders().add("Content-Type", "application/json; charset=UTF-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
